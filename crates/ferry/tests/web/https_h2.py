"""Chromium through Ferry's own HTTPS listener: the web client's sign-in, then two files
fetched at once from its download route, on the one HTTP/2 connection Chromium keeps to the
origin. The bodies come back base64-encoded for the test to hash (a page behind an ignored
certificate error is not a secure context, so `crypto.subtle` is not there).
Usage: https_h2.py BASE USER PASSWORD FILE_ID... Prints a JSON report on its last line.
"""

import base64
import hashlib
import json
import sys

from playwright.sync_api import sync_playwright

base, user, password = sys.argv[1:4]
ids = [int(i) for i in sys.argv[4:]]
report = {"errors": []}

with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    # The test CA is not in Chromium's store; what is checked here is the transport.
    ctx = browser.new_context(ignore_https_errors=True)
    page = ctx.new_page()
    page.on("pageerror", lambda e: report["errors"].append(str(e)))
    page.goto(base + "/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", level=1).wait_for()
    report["page_protocol"] = page.evaluate(
        "performance.getEntriesByType('navigation')[0].nextHopProtocol"
    )
    fetched = page.evaluate(
        """async (ids) => Promise.all(ids.map(async (id) => {
            const url = new URL(`/web/files/${id}/download`, location).href;
            const r = await fetch(url);
            const body = new Uint8Array(await r.arrayBuffer());
            let text = "";
            for (let i = 0; i < body.length; i += 0x8000) {
                text += String.fromCharCode(...body.subarray(i, i + 0x8000));
            }
            const entry = performance.getEntriesByName(url)[0];
            return {id, status: r.status, body: btoa(text),
                    protocol: entry ? entry.nextHopProtocol : null};
        }))""",
        ids,
    )
    browser.close()

report["files"] = [
    {
        "id": f["id"],
        "status": f["status"],
        "protocol": f["protocol"],
        "sha256": hashlib.sha256(base64.b64decode(f["body"])).hexdigest(),
    }
    for f in fetched
]
print(json.dumps(report))
