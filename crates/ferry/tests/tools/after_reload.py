"""The upload page after a reload, in Chromium (Playwright): it lists what this browser
uploaded through the link, and says that an interrupted upload continues when the same file is
chosen again, which it then does (issue 16).

Usage: after_reload.py LINK WORKDIR
The page is reached through a relay that carries about 60 MB/s, so that a large upload can be
interrupted by the reload half-way. Prints a JSON report.
"""

import json
import os
import sys
import time

from playwright.sync_api import sync_playwright

from browser_upload import random_file, relayed

link, workdir = sys.argv[1], sys.argv[2]
relay, page_url = relayed(link)
small = os.path.join(workdir, "first <b>note<b>.txt")
with open(small, "w") as f:
    f.write("a small file\n")
big = random_file(os.path.join(workdir, "big.bin"), 120)

report = {}
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    page = browser.new_page()
    page.on("dialog", lambda d: d.accept())
    page.goto(page_url)
    report["earlier_at_first"] = page.locator("#earlier").count()
    page.set_input_files("#pick-files", small)
    page.locator(".file.done").first.wait_for(timeout=30_000)
    # The large file: reloaded once 24 MiB are through, well before its end (120 MiB).
    page.set_input_files("#pick-files", big)
    deadline = time.time() + 30
    while relay.relayed_up < 24 * 1024 * 1024 and time.time() < deadline:
        time.sleep(0.05)
    page.reload()
    page.locator("#drop").wait_for()
    report["earlier_names"] = page.locator("#earlier .earlier-files .name").all_inner_texts()
    report["resume_hint"] = (
        page.locator("#resume-hint").inner_text() if page.locator("#resume-hint").count() else None
    )
    sent_before = relay.relayed_up
    page.set_input_files("#pick-files", big)
    page.locator(".file.done").first.wait_for(timeout=60_000)
    report["resent_mb"] = round((relay.relayed_up - sent_before) / (1024 * 1024), 1)
    page.reload()
    page.locator("#drop").wait_for()
    report["earlier_after"] = page.locator("#earlier .earlier-files .name").all_inner_texts()
    report["hint_after"] = page.locator("#resume-hint").count()
    browser.close()
print(json.dumps(report))
