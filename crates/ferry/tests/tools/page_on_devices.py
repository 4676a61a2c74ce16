"""The upload page's heading and pickers on a desktop and on a phone, in Chromium (Playwright).

Usage: page_on_devices.py LINK
Prints a JSON report: for "desktop" and "phone" (touch emulation: no hover, a coarse pointer),
the heading's text and whether the drop hint, "Choose files" and "Choose a folder" are shown.
"""

import json
import sys

from playwright.sync_api import sync_playwright

link = sys.argv[1]
report = {}
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    for device, options in (
        ("desktop", {"viewport": {"width": 1200, "height": 800}}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}),
    ):
        context = browser.new_context(**options)
        page = context.new_page()
        page.goto(link)
        page.locator("#drop").wait_for()
        report[device] = {
            "heading": page.locator("h1").inner_text(),
            "title": page.title(),
            "drop_hint": page.locator(".drop-hint").is_visible(),
            "choose_files": page.locator("label:has(#pick-files)").is_visible(),
            "choose_folder": page.locator(".folder-picker").is_visible(),
        }
        context.close()
    browser.close()
print(json.dumps(report))
