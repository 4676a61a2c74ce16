"""Drives the upload tool in a real Chromium (Playwright, the system's /usr/bin/chromium).

Usage: browser_upload.py LINK WORKDIR SCREENSHOT

Opens LINK (an upload-tool link) through a TCP relay that this script runs in front of the
server, picks three files (one of 200 MB, one whose name holds HTML), watches the total
progress bar move, cuts every relayed connection while the big file is half-way and keeps the
"network" down for three seconds, checks that the page says it is resuming and then finishes; then reloads the page half-way through a
64 MiB upload, picks the file again and sees it finish. Prints a JSON report on stdout. The
screenshot of the finished page goes to SCREENSHOT.
"""

import json
import os
import socket
import sys
import threading
import time
import urllib.parse

from playwright.sync_api import sync_playwright

BIG = 200 * 1024 * 1024


class Relay:
    """A TCP relay on a free loopback port that can cut every connection it carries."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open = []
        self.cuts = 0
        self.relayed_up = 0
        self.down_until = 0.0
        self.held_until = 0.0
        # A hold armed to start once this many bytes have gone up, and when it started.
        self.hold_at = None
        self.hold_for = 0.0
        self.held_since = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            if time.time() < self.down_until:
                # The network is still down: connections fail at once.
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open.extend([client, upstream])
            for a, b, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(a, b, up), daemon=True).start()

    def _pump(self, src, dst, up):
        try:
            while True:
                data = src.recv(256 * 1024)
                if not data:
                    break
                # A silent outage: what arrives is held back, and nothing is closed.
                while time.time() < self.held_until:
                    time.sleep(0.05)
                dst.sendall(data)
                if up:
                    with self.lock:
                        self.relayed_up += len(data)
                        if self.hold_at is not None and self.relayed_up >= self.hold_at:
                            self.hold_at = None
                            self.held_since = time.time()
                            self.held_until = self.held_since + self.hold_for
                # About 60 MB/s: slow enough to watch progress and to cut half-way.
                time.sleep(len(data) / (60 * 1024 * 1024))
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def hold(self, outage):
        """A silent outage: for `outage` seconds no byte moves either way, and no connection is
        closed or refused (what a dead Wi-Fi or a dropped route looks like to a browser)."""
        self.held_until = time.time() + outage

    def hold_when(self, bytes_up, outage):
        """Arms a silent outage of `outage` seconds that starts as soon as `bytes_up` bytes
        have gone up: set off by the relay itself, so a busy test machine cannot let the whole
        upload through before a watcher gets round to it. `held_since` says when it began."""
        with self.lock:
            self.hold_for = outage
            self.hold_at = bytes_up

    def cut(self, outage):
        """Ends every connection, and fails new ones for `outage` seconds."""
        with self.lock:
            self.down_until = time.time() + outage
            for s in self.open:
                # shutdown() wakes the relay threads blocked on these sockets (close() alone
                # would not) and ends both TCP connections mid-request.
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.open = []
            self.cuts += 1


def relayed(link):
    """A relay in front of the server `link` points at, and the link through it."""
    url = urllib.parse.urlsplit(link)
    relay = Relay(url.hostname, url.port)
    page_url = urllib.parse.urlunsplit(
        (url.scheme, f"127.0.0.1:{relay.port}", url.path, url.query, "")
    )
    return relay, page_url


def random_file(path, mib):
    """A file of `mib` MiB of random bytes at `path`."""
    with open(path, "wb") as f:
        block = os.urandom(1024 * 1024)
        for _ in range(mib):
            f.write(block)
    return path


def main():
    link, workdir, screenshot = sys.argv[1], sys.argv[2], sys.argv[3]
    url = urllib.parse.urlsplit(link)
    relay = Relay(url.hostname, url.port)
    page_url = urllib.parse.urlunsplit(
        (url.scheme, f"127.0.0.1:{relay.port}", url.path, url.query, "")
    )

    small = os.path.join(workdir, "notes.txt")
    with open(small, "w") as f:
        f.write("three small lines\n" * 3)
    html_name = os.path.join(workdir, "<img src=x onerror=alert(1)> & co.txt")
    with open(html_name, "w") as f:
        f.write("a name with markup in it\n")
    big = os.path.join(workdir, "big.bin")
    with open(big, "wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(BIG // len(block)):
            f.write(bytes([i % 256]) + block[1:])

    report = {"total_progress": [], "statuses": [], "cuts": 0}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 900, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Script errors fail the test; the console's "failed to load resource" lines for the
        # 409 that follows the cut are expected.
        page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text and errors.append(m.text))
        page.goto(page_url)
        report["title"] = page.title()
        # Record every status text the page shows (Playwright's script is not bound by the
        # page's CSP); a short-lived "resuming" message is not missed between two polls.
        page.evaluate(
            """() => {
                window.__statuses = [];
                new MutationObserver(() => {
                    for (const s of document.querySelectorAll("li.file .status")) {
                        const t = s.textContent;
                        if (!/^[0-9]/.test(t) && !window.__statuses.includes(t))
                            window.__statuses.push(t);
                    }
                }).observe(document.getElementById("files"),
                           {subtree: true, childList: true, characterData: true});
            }"""
        )
        page.set_input_files("#pick-files", [small, html_name, big])
        big_item = page.locator("li.file", has_text="big.bin")
        deadline = time.time() + 300
        cut_done = False
        while time.time() < deadline:
            value = page.eval_on_selector("#total-bar", "b => b.value / b.max")
            report["total_progress"].append(round(value, 4))
            big_value = big_item.locator("progress").evaluate("b => b.value / b.max")
            status = big_item.locator(".status").inner_text()
            if not report["statuses"] or report["statuses"][-1] != status.split(" ")[0]:
                report["statuses"].append(status.split(" ")[0])
            if not cut_done and 0.35 < big_value < 0.8:
                relay.cut(3.0)
                cut_done = True
                report["cut_at"] = round(big_value, 3)
            if page.locator("#summary").is_visible():
                break
            time.sleep(0.05)
        report["summary"] = page.locator("#summary").inner_text()
        report["names"] = page.locator("li.file .name").all_inner_texts()
        report["injected_elements"] = page.locator("li.file img").count()
        report["file_statuses"] = page.locator("li.file .status").all_inner_texts()
        statuses = page.evaluate("() => window.__statuses")
        report["saw_resuming"] = any("resuming in" in s for s in statuses)
        report["observed"] = statuses
        report["errors"] = errors
        report["cuts"] = relay.cuts
        report["relayed_up"] = relay.relayed_up
        page.screenshot(path=screenshot, full_page=True)

        # A page reload half-way: the same link, the same file picked again, resumes.
        again = os.path.join(workdir, "again.bin")
        with open(again, "wb") as f:
            f.write(os.urandom(64 * 1024 * 1024))
        page.goto(page_url)
        page.set_input_files("#pick-files", [again])
        item = page.locator("li.file", has_text="again.bin")
        deadline = time.time() + 120
        while time.time() < deadline:
            if item.locator("progress").evaluate("b => b.value / b.max") > 0.6:
                break
            time.sleep(0.02)
        before = relay.relayed_up
        page.reload()
        page.set_input_files("#pick-files", [again])
        page.locator("#summary").wait_for(state="visible", timeout=120_000)
        report["reload_summary"] = page.locator("#summary").inner_text()
        report["reload_relayed_up"] = relay.relayed_up - before
        browser.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
