"""A member's session in the web client, in Chromium (Playwright), as issue 17 asks:
sign in by the form's accessible names, create a folder, upload a folder of 3 files and a
200 MB file by drag-and-drop (Chromium's own drop of paths on disk, so the folder arrives as
a directory entry), a folder by the folder picker, reload half-way through it and see it resume,
then lose the connection half-way through the rest and see it resume again,
rename a file, visit a folder of hostile names (no script may run), check the pages with
axe-core, on a phone screen and by keyboard, and sign out.

Usage: member_session.py BASE USER PASSWORD WORKDIR AXE_JS HOSTILE_FOLDER_ID
The browser reaches the server through a relay that carries about 60 MB/s, so that the large
upload can be interrupted by the reload half-way. Prints a JSON report on its last line.
"""

import hashlib
import json
import os
import sys
import time

from playwright.sync_api import sync_playwright

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from browser_upload import random_file, relayed  # noqa: E402

base, user, password, workdir, axe_js, hostile = sys.argv[1:7]
relay, site = relayed(base + "/")
site = site.rstrip("/")

album = os.path.join(workdir, "album")
os.makedirs(album, exist_ok=True)
for i, name in enumerate(("one.txt", "two.txt", "three.txt")):
    with open(os.path.join(album, name), "w") as f:
        f.write(f"photo {i}\n" * (i + 1))
scans = os.path.join(workdir, "scans")
os.makedirs(scans, exist_ok=True)
with open(os.path.join(scans, "page-1.txt"), "w") as f:
    f.write("scanned page\n")
big = random_file(os.path.join(workdir, "big.bin"), 200)
with open(big, "rb") as f:
    digest = hashlib.sha256()
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)

report = {"big_sha256": digest.hexdigest(), "alerts": [], "errors": [], "axe": {}}


def axe(page, label):
    """Serious and critical axe-core violations of the page (rule IDs and the nodes' HTML)."""
    page.add_script_tag(path=axe_js)
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({id: v.id, nodes: v.nodes.map((n) => n.html).slice(0, 3)}));
        }"""
    )
    report["axe"][label] = found


def watch(page):
    # A dialog opened by an injected script would be an alert() or a prompt(); the page's own
    # confirm() (before a delete) and the browser's "leave the page?" while an upload runs
    # are accepted and not counted.
    def on_dialog(d):
        if d.type not in ("confirm", "beforeunload"):
            report["alerts"].append(f"{d.type}: {d.message}")
        d.accept()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: report["errors"].append(str(e)))


def drop_paths(page, *paths):
    """Drops files or folders from disk on the drop zone as a person's drag from the desktop
    does: through Chromium's own drag-and-drop (the DevTools protocol's `dispatchDragEvent`),
    so a folder arrives as a real directory entry that the page walks, and a file is read from
    disk, not built in memory. The drop waits for the page's deferred scripts: a drop that
    lands before upload.js has taken the drop zone is refused by the browser, and nothing
    uploads."""
    page.wait_for_load_state("load")
    box = page.locator("#drop").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": list(paths), "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})
    cdp.detach()


def shown(page, name):
    """Waits up to a minute for the folder to list NAME; if it never does, fails saying what
    the page showed instead (its address and its uploads' list), not only that it timed out."""
    try:
        page.get_by_role("link", name=name, exact=True).wait_for(timeout=60_000)
    except Exception as e:
        files = page.locator("#files")
        listed = files.inner_text() if files.count() else "(no upload list)"
        raise AssertionError(f"{name} not listed at {page.url}; uploads: {listed!r}") from e


with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    # axe-core is injected as a script, which the pages' CSP would refuse: this context lets
    # the test's own scripts in (the pages' escaping is what keeps hostile names inert).
    context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch(page)

    page.goto(site + "/")
    axe(page, "signin")
    page.keyboard.press("Tab")
    report["first_tab"] = page.evaluate("document.activeElement.textContent")
    report["focus_outline"] = page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle"
    )
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", level=1).wait_for()
    report["heading"] = page.get_by_role("heading", level=1).inner_text()
    home = page.url
    axe(page, "folder")

    # A new folder, by keyboard-reachable controls.
    page.get_by_text("New folder", exact=True).click()
    page.get_by_label("Folder name").fill("Projects")
    page.get_by_role("button", name="Create folder").click()
    page.get_by_role("link", name="Projects").wait_for()

    # By keyboard alone: Tab to "New folder", open it, name the folder, Enter. Every control
    # Tab reaches on the way shows its focus.
    unseen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement;
                       const s = getComputedStyle(e);
                       const w = getComputedStyle(e.closest('label') || e);
                       return {text: (e.textContent || e.name || '').trim().slice(0, 40),
                               tag: e.tagName,
                               outline: s.outlineStyle !== 'none' || w.outlineStyle !== 'none'}; }"""
        )
        if not focused["outline"]:
            unseen.append(focused)
        if focused["tag"] == "SUMMARY" and focused["text"] == "New folder":
            break
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Keys")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Keys", exact=True).wait_for()
    report["keyboard_folder"] = True
    report["focus_unseen"] = unseen

    # A folder of three files, dragged from the desktop; then a folder by the folder picker.
    drop_paths(page, album)
    page.wait_for_url(home, timeout=60_000)
    shown(page, "album")
    report["album_shown"] = True
    page.wait_for_load_state("load")  # upload.js must have taken the picker (see drop_paths)
    page.set_input_files("#pick-folder", scans)
    page.wait_for_url(home, timeout=60_000)
    shown(page, "scans")

    # The 200 MB file by drag-and-drop; reloaded once 40 MiB are through.
    patches = []
    page.on(
        "request",
        lambda r: r.method == "PATCH" and patches.append(int(r.headers.get("upload-offset", "-1"))),
    )
    drop_paths(page, big)
    page.locator("#total-bar").wait_for()
    deadline = time.time() + 60
    while relay.relayed_up < 40 * 1024 * 1024 and time.time() < deadline:
        time.sleep(0.05)
    report["progress_before_reload"] = page.evaluate(
        "document.getElementById('total-bar').value / document.getElementById('total-bar').max"
    )
    page.reload()
    page.locator("#drop").wait_for()
    report["resume_hint"] = (
        page.locator("#resume-hint").inner_text() if page.locator("#resume-hint").count() else None
    )
    patches.clear()
    resumed_from = relay.relayed_up
    drop_paths(page, big)
    # Then the connection drops half-way through the rest, and stays down 2 s: the page
    # resumes on its own.
    deadline = time.time() + 60
    while relay.relayed_up - resumed_from < 40 * 1024 * 1024 and time.time() < deadline:
        time.sleep(0.05)
    relay.cut(2)
    report["cuts"] = relay.cuts
    page.wait_for_url(home, timeout=120_000)
    shown(page, "big.bin")
    report["first_offset_after_reload"] = patches[0] if patches else None

    # Rename a file from its row's actions.
    row = page.locator("tr", has_text="big.bin")
    row.locator("summary").click()
    row.get_by_label("New name").fill("big-renamed.bin")
    row.get_by_role("button", name="Rename").click()
    page.get_by_role("link", name="big-renamed.bin", exact=True).wait_for()
    report["renamed"] = True

    # Hostile names: with the test's CSP bypass (escaping alone must hold) ...
    page.goto(f"{site}/web/folders/{hostile}")
    page.get_by_role("heading", level=1).wait_for()
    report["hostile_rows"] = page.locator("tbody tr").count()
    axe(page, "hostile")
    # ... and without it, as a person's browser sees it.
    strict = browser.new_context()
    strict.add_cookies(context.cookies())
    plain = strict.new_page()
    watch(plain)
    plain.goto(f"{site}/web/folders/{hostile}")
    plain.get_by_role("heading", level=1).wait_for()
    for summary in plain.locator("summary").all():
        summary.click()
    time.sleep(0.5)

    # A phone screen: no sideways scrolling.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.add_cookies(context.cookies())
    small = phone.new_page()
    small.goto(home)
    small.get_by_role("heading", level=1).wait_for()
    report["phone_overflow"] = small.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )

    # Sign out: back at the sign-in page, and the old page sends there too.
    page.goto(home)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.goto(home)
    report["after_signout"] = page.get_by_role("button", name="Sign in").count()
    browser.close()

print(json.dumps(report))
