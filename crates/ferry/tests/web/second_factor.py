"""Two-step sign-in in the web client, in Chromium (Playwright), with passcodes from pyotp:
a member opens Account, sets it up (the key read from the page, as a person would type it
into an app), confirms with a passcode, sees ten recovery codes, signs out, signs in again
(the form asks for the Passcode after the password), and, with a reused passcode, is refused.
axe-core checks the account, set-up and passcode pages.
Usage: second_factor.py BASE USER PASSWORD AXE_JS. Prints a JSON report on its last line.
"""

import json
import sys
import time

import pyotp
from playwright.sync_api import sync_playwright

base, user, password, axe_js = sys.argv[1:5]
report = {"alerts": [], "errors": [], "axe": {}}


def axe(page, label):
    page.add_script_tag(path=axe_js)
    report["axe"][label] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({id: v.id, nodes: v.nodes.map((n) => n.html).slice(0, 3)}));
        }"""
    )


def code(totp, steps):
    while 28 <= time.time() % 30:
        time.sleep(0.1)
    return totp.at(time.time() + 30 * steps)


def sign_in(page):
    page.goto(base + "/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    page.on("dialog", lambda d: (report["alerts"].append(d.message), d.accept()))
    page.on("pageerror", lambda e: report["errors"].append(str(e)))

    sign_in(page)
    page.get_by_role("heading", level=1).wait_for()
    page.get_by_role("link", name="Account").click()
    page.get_by_role("heading", name="Two-step sign-in").wait_for()
    axe(page, "account")
    page.get_by_role("button", name="Set up two-step sign-in").click()
    page.get_by_role("img", name="QR code of the two-step sign-in key").wait_for()
    axe(page, "setup")
    key = page.locator("code.secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(key)
    report["otpauth"] = page.get_by_role("link", name="open it in the authenticator app").get_attribute("href")
    page.get_by_label("Passcode").fill(code(totp, -1))
    page.get_by_label("Your password").fill(password)
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("heading", name="Two-step sign-in is on").wait_for()
    report["recovery_codes"] = page.locator("ul.recovery-codes li").count()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    sign_in(page)
    page.get_by_label("Passcode").wait_for()
    report["asked"] = page.locator("#problem").inner_text()
    axe(page, "passcode")
    now = code(totp, 0)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Passcode").fill(now)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", level=1).wait_for()
    report["signed_in_heading"] = page.get_by_role("heading", level=1).inner_text()

    # The same passcode in a second browser: refused.
    other = browser.new_context().new_page()
    other.goto(base + "/")
    other.get_by_label("User name").fill(user)
    other.get_by_label("Password").fill(password)
    other.get_by_role("button", name="Sign in").click()
    other.get_by_label("Passcode").wait_for()
    other.get_by_label("Password").fill(password)
    other.get_by_label("Passcode").fill(now)
    other.get_by_role("button", name="Sign in").click()
    other.locator("#problem").wait_for()
    report["reused"] = other.locator("#problem").inner_text()
    browser.close()

print(json.dumps(report))
