"""The web client's second scenario, in Chromium (Playwright), as issue 17 asks: a member
moves a file, restores an older version, downloads a ZIP (checked with zipfile), and shares a
download link that a second, signed-out browser context opens; an administrator creates a user
who then signs in, ends that user's session (the user's next click lands on sign-in), filters
the audit log and verifies the chain. axe-core checks the sharing and console pages; the folder
view and the console are captured for docs/.

Usage: admin_and_sharing.py BASE MEMBER PASSWORD ADMIN ADMIN_PASSWORD WORKDIR AXE_JS SHOTS_DIR
Prints a JSON report on its last line.
"""

import io
import json
import os
import sys
import zipfile

from playwright.sync_api import sync_playwright

base, member, member_pw, admin, admin_pw, workdir, axe_js, shots = sys.argv[1:9]
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


def watch(page):
    def on_dialog(d):
        if d.type not in ("confirm", "beforeunload"):
            report["alerts"].append(f"{d.type}: {d.message}")
        d.accept()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: report["errors"].append(str(e)))


def sign_in(page, user, password):
    page.goto(base + "/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", level=1).wait_for()


with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    ctx = browser.new_context(bypass_csp=True, accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    watch(page)
    sign_in(page, member, member_pw)
    home = page.url

    # Move "notes.txt" into "Archive" with the folder picker ("Move to…"): the tree opens
    # down to the folder the file is in; choose "Archive" and move.
    page.get_by_label("Select notes.txt").check()
    page.get_by_role("button", name="Move to…").click()
    page.get_by_role("heading", name="Move 1 item").wait_for()
    axe(page, "move")
    page.get_by_label("Archive", exact=True).check()
    page.get_by_role("button", name="Move here").click()
    page.wait_for_url(home)
    page.get_by_role("link", name="Archive", exact=True).click()
    page.get_by_role("link", name="notes.txt", exact=True).wait_for()
    report["moved"] = True
    page.screenshot(path=os.path.join(shots, "web-client-folder.png"), full_page=True)

    # Restore version 1 of "plan.txt" from its page.
    page.goto(home)
    page.get_by_role("link", name="plan.txt", exact=True).click()
    page.get_by_role("heading", name="Versions").wait_for()
    axe(page, "file")
    page.get_by_role("button", name="Restore version 1").click()
    page.get_by_role("heading", name="Versions").wait_for()
    report["newest_after_restore"] = page.locator("dl.facts dd").nth(1).inner_text()

    # The folder as a ZIP.
    page.goto(home)
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download folder as ZIP").click()
    data = open(dl.value.path(), "rb").read()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        report["zip_ok"] = z.testzip() is None
        report["zip_names"] = sorted(z.namelist())

    # Share plan.txt, allowing two downloads; a second, signed-out context opens the link and
    # takes one.
    page.get_by_label("Select plan.txt").check()
    page.get_by_text("Share", exact=True).click()
    page.get_by_label("Downloads allowed (optional)").fill("2")
    page.get_by_role("button", name="Make download link").click()
    page.get_by_label("Link").wait_for()
    axe(page, "link")
    link = page.get_by_label("Link").input_value()
    stranger = browser.new_context()
    other = stranger.new_page()
    watch(other)
    other.goto(link)
    report["stranger_sees"] = other.locator("body").inner_text()
    with other.expect_download() as got:
        other.get_by_role("link", name="Download plan.txt").click()
    report["stranger_got"] = open(got.value.path(), "rb").read().decode()
    page.goto(base + "/web/links")
    axe(page, "links")
    report["links_table"] = page.locator("table.listing").inner_text()
    stranger.close()

    # The administrator: create a user, who signs in; end that session; audit; verify.
    admin_ctx = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    a = admin_ctx.new_page()
    watch(a)
    sign_in(a, admin, admin_pw)
    a.get_by_role("link", name="Administration").click()
    a.get_by_role("heading", name="Users").wait_for()
    axe(a, "admin_users")
    a.get_by_text("Create a user").click()
    a.get_by_label("User name", exact=True).fill("newbie")
    a.get_by_label("E-mail", exact=True).fill("newbie@example.com")
    a.get_by_label("Role", exact=True).select_option("member")
    a.get_by_label("Password", exact=True).fill("newbie-password-1")
    a.get_by_role("button", name="Create user").click()
    a.get_by_role("cell", name="newbie", exact=True).wait_for()
    a.screenshot(path=os.path.join(shots, "admin-console.png"), full_page=True)

    newbie_ctx = browser.new_context()
    n = newbie_ctx.new_page()
    watch(n)
    sign_in(n, "newbie", "newbie-password-1")
    report["newbie_heading"] = n.get_by_role("heading", level=1).inner_text()

    a.get_by_role("link", name="Sessions").click()
    a.get_by_role("heading", name="Live sessions").wait_for()
    axe(a, "admin_sessions")
    row = a.locator("tr", has_text="newbie").filter(has_text="web client")
    row.get_by_role("button").click()
    a.get_by_role("heading", name="Live sessions").wait_for()
    n.reload()
    report["newbie_after_end"] = n.get_by_role("button", name="Sign in").count()

    a.get_by_role("link", name="Audit log").click()
    a.get_by_label("Operation").fill("SessionRevoked")
    a.get_by_role("button", name="Filter").click()
    a.get_by_role("heading", name="Audit log").wait_for()
    axe(a, "admin_audit")
    report["revoked_rows"] = a.locator("tbody tr").count()
    a.get_by_role("button", name="Verify the chain").click()
    report["chain"] = a.locator("#chain-result").inner_text()
    a.get_by_role("link", name="Applications").click()
    a.get_by_role("heading", name="Applications").wait_for()
    axe(a, "admin_applications")
    browser.close()

print(json.dumps(report))
