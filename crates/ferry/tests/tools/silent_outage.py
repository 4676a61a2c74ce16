"""A silent network outage during an upload, in Chromium (Playwright): the relay between the
browser and Ferry stops moving bytes without closing anything, so no error reaches the page
(Chromium's offline emulation, by contrast, fails the request at once). The page must say the
connection is lost within seconds instead of showing the last speed, keep retrying, and finish
the upload once the network is back (issue 16).

Usage: silent_outage.py LINK WORKDIR
The page is reached through a relay that carries about 60 MB/s. Prints a JSON report.
"""

import json
import os
import sys
import time

from playwright.sync_api import sync_playwright

from browser_upload import random_file, relayed

link, workdir = sys.argv[1], sys.argv[2]
relay, page_url = relayed(link)
big = random_file(os.path.join(workdir, "outage.bin"), 120)

report = {}
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    context = browser.new_context()
    page = context.new_page()
    page.goto(page_url)
    # The outage begins the moment the first 16 MiB chunk has gone up, set off by the relay
    # itself: the page then waits for that chunk's reply, the case a watchdog of bytes alone
    # missed (it showed "3 s left" until the outage ended).
    relay.hold_when(16 * 1024 * 1024, 14)
    page.set_input_files("#pick-files", big)
    deadline = time.time() + 60
    while relay.held_since is None and time.time() < deadline:
        time.sleep(0.05)
    if relay.held_since is None:
        raise SystemExit("the upload never reached 16 MiB through the relay")
    cut_at = relay.held_since
    status = page.locator(".file .status").first
    seen = None
    while time.time() - cut_at < 20:
        text = status.inner_text()
        if "Connection lost" in text:
            seen = text
            break
        time.sleep(0.25)
    report["lost_after_s"] = round(time.time() - cut_at, 1) if seen else None
    report["lost_text"] = seen
    time.sleep(max(0.0, cut_at + 10 - time.time()))
    report["while_down"] = status.inner_text()
    page.locator(".file.done").first.wait_for(timeout=90_000)
    report["final"] = status.inner_text()
    browser.close()
print(json.dumps(report))
