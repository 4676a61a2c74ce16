"""The upload tool in Firefox (Debian's firefox-esr, headless, driven over Marionette with
Mozilla's `marionette_driver`; Playwright's own Firefox cannot be downloaded here).

Usage: browser_firefox.py LINK WORKDIR PORT

PORT is a free loopback port for Marionette, chosen by the test (`ferry_testkit::free_port`).

Picks two files (one of 30 MB, one whose name holds markup), waits for the summary, and prints
a JSON report: the summary, each file's status, the names as shown, and script errors.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from marionette_driver import By, Wait
from marionette_driver.marionette import Marionette


def main():
    link, workdir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    files = []
    for name, size in (("firefox.bin", 30 * 1024 * 1024), ("<i>fox</i>.txt".replace("/", ""), 100)):
        path = os.path.join(workdir, name)
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        files.append(os.path.abspath(path))

    profile = tempfile.mkdtemp(prefix="ferry-firefox-")
    with open(os.path.join(profile, "user.js"), "w") as f:
        f.write(f'user_pref("marionette.port", {port});\n')
        f.write('user_pref("browser.shell.checkDefaultBrowser", false);\n')
    browser = subprocess.Popen(
        ["firefox-esr", "--headless", "--marionette", "--no-remote", "--profile", profile],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    report = {}
    try:
        m = Marionette(host="127.0.0.1", port=port)
        m.start_session()
        m.navigate(link)
        report["title"] = m.title
        # WebDriver's way of choosing several files: their paths, one per line.
        m.find_element(By.ID, "pick-files").send_keys("\n".join(files))
        Wait(m, timeout=180, interval=0.2).until(
            lambda mm: mm.find_element(By.ID, "summary").is_displayed()
        )
        report["summary"] = m.find_element(By.ID, "summary").text
        report["statuses"] = [e.text for e in m.find_elements(By.CSS_SELECTOR, "li.file .status")]
        report["names"] = [e.text for e in m.find_elements(By.CSS_SELECTOR, "li.file .name")]
        report["injected_elements"] = len(m.find_elements(By.CSS_SELECTOR, "li.file i"))
        report["user_agent"] = m.execute_script("return navigator.userAgent")
        m.delete_session()
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=20)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
        # The profile is tens of megabytes; a run must not leave it behind in /tmp.
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
