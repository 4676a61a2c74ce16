"""The API's error table as Swagger UI draws it, in Chromium (Playwright): the headings of
adjacent columns must not run together ("HTTPMeaning", issue 16).

Usage: swagger_table.py BASE_URL [SCREENSHOT.png]
Prints a JSON report: each heading's text, the gap in pixels between the text of adjacent
headings, and the cells' computed padding.
"""

import json
import sys

from playwright.sync_api import sync_playwright

base = sys.argv[1]
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .renderedMarkdown table th", timeout=30_000)
    report = page.evaluate(
        """() => {
        const heads = [...document.querySelector('.swagger-ui .renderedMarkdown table').querySelectorAll('th')];
        const textBox = (th) => {
            const range = document.createRange();
            range.selectNodeContents(th);
            return range.getBoundingClientRect();
        };
        const gaps = [];
        for (let i = 1; i < heads.length; i++) {
            gaps.push(textBox(heads[i]).left - textBox(heads[i - 1]).right);
        }
        return {
            headings: heads.map((th) => th.textContent.trim()),
            gaps_px: gaps,
            padding_left: getComputedStyle(heads[1]).paddingLeft,
        };
    }"""
    )
    if len(sys.argv) > 2:
        page.locator(".swagger-ui .renderedMarkdown table").screenshot(path=sys.argv[2])
    browser.close()
print(json.dumps(report))
