"""The upload tool's interaction on a phone-sized screen, by keyboard, in Chromium (Playwright).

Usage: browser_ui.py LINK WORKDIR

LINK carries ThruMaxFileNumber=2 and ThruFileFilter=Documents: txt, bin. Checks that the page
fits a 390-pixel-wide screen without sideways scrolling; reaches the drop zone with Tab and
opens the file picker with Enter; shows a refused type as refused; cancels an upload half-way
and retries it to the end; refuses a third file with the link's limit. Prints a JSON report.
"""

import json
import os
import sys
import time
import urllib.parse

from playwright.sync_api import sync_playwright

from browser_upload import Relay


def main():
    link, workdir = sys.argv[1], sys.argv[2]
    url = urllib.parse.urlsplit(link)
    relay = Relay(url.hostname, url.port)
    page_url = urllib.parse.urlunsplit(
        (url.scheme, f"127.0.0.1:{relay.port}", url.path, url.query, "")
    )
    files = {}
    for name, size in (("first.txt", 1000), ("setup.exe", 10), ("slow.bin", 48 * 1024 * 1024), ("third.txt", 10)):
        path = os.path.join(workdir, name)
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        files[name] = path

    report = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        page = context.new_page()
        # Listen for file choosers from the start: interception is switched on asynchronously,
        # and turning it on only around the key press loses the race now and then.
        choosers = []
        page.on("filechooser", lambda chooser: choosers.append(chooser))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_url)
        report["overflow_px"] = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        report["rules"] = page.locator("#rules").inner_text()

        # Keyboard: Tab to the drop zone, Enter opens the picker.
        focused = []
        page.locator("#drop").wait_for()
        for _ in range(12):
            page.keyboard.press("Tab")
            focused.append(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
            if focused[-1] == "drop":
                break
        report["tab_order"] = focused
        page.keyboard.press("Enter")
        deadline = time.time() + 30
        while not choosers and time.time() < deadline:
            page.wait_for_timeout(50)
        choosers[0].set_files([files["first.txt"], files["setup.exe"]])
        page.locator("li.file", has_text="first.txt").locator(".status", has_text="Uploaded").wait_for(timeout=30_000)
        report["refused_type"] = page.locator("li.file", has_text="setup.exe").locator(".status").inner_text()

        # Cancel half-way, then Retry to the end.
        page.set_input_files("#pick-files", [files["slow.bin"]])
        slow = page.locator("li.file", has_text="slow.bin")
        deadline = time.time() + 60
        while time.time() < deadline and slow.locator("progress").evaluate("b => b.value / b.max") < 0.1:
            time.sleep(0.01)
        slow.get_by_role("button", name="Cancel slow.bin").click()
        slow.locator(".status", has_text="Cancelled").wait_for(timeout=10_000)
        report["cancelled"] = slow.locator(".status").inner_text()
        report["retry_visible"] = slow.get_by_role("button", name="Retry slow.bin").is_visible()
        slow.get_by_role("button", name="Retry slow.bin").click()
        slow.locator(".status", has_text="Uploaded").wait_for(timeout=60_000)
        report["retried"] = slow.locator(".status").inner_text()

        # The link's limit: a third file is refused.
        page.set_input_files("#pick-files", [files["third.txt"]])
        report["third"] = page.locator("li.file", has_text="third.txt").locator(".status").inner_text()
        page.locator("#summary").wait_for(state="visible", timeout=10_000)
        report["summary"] = page.locator("#summary").inner_text()
        report["errors"] = errors
        browser.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
