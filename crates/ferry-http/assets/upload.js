// Ferry's uploader: drag-and-drop or pick files and folders, upload them resumably over
// tus 1.0, show per-file and total progress, cancel and retry, and a summary. The upload tool
// uses it with its page's grant (/tools/tus, Ferry-Grant); the web client's folder pages with
// the session's form token (/web/tus, Ferry-Form-Token) and the folder in the metadata: the
// element's data attributes say which. No framework, no CDN; served from Ferry's origin under
// a strict CSP.
"use strict";

(function () {
  const root = document.getElementById("tool");
  if (!root) return;
  const grant = root.dataset.grant;
  const maxFiles = root.dataset.maxFiles ? parseInt(root.dataset.maxFiles, 10) : null;
  let filesUsed = parseInt(root.dataset.filesUsed || "0", 10);
  const accept = (root.dataset.accept || "").split(",").filter(Boolean).map((e) => e.slice(1));
  const refuse = (root.dataset.refuse || "").split(",").filter(Boolean);
  const successUrl = root.dataset.successUrl || "";
  const endpoint = root.dataset.endpoint || "/tools/tus";
  const authHeader = root.dataset.authHeader || "Ferry-Grant";
  const authValue = root.dataset.authValue || grant;
  const targetFolder = root.dataset.folder || "";
  const scope = root.dataset.scope || "";
  // The web client lists what the folder holds; the tool page lists what this browser sent.
  const keepHistory = root.dataset.history !== "off";
  const CHUNK = 16 * 1024 * 1024;
  const PARALLEL = 3;
  const RETRY_DELAYS = [1000, 2000, 4000, 8000, 15000, 30000];
  // A PATCH that moves no byte for this long is taken as a lost connection (a silent outage
  // sends no error: the request just stops moving) and is retried from the server's offset.
  const STALL_MS = 5000;
  // Once the last PATCH's bytes are all sent, the server may take a while to commit a large
  // file (any other PATCH is answered at once: its reply is watched like its bytes).
  const REPLY_MS = 120000;
  // Requests other than PATCH are small: one that takes this long has lost its connection.
  const SHORT_REQUEST_MS = 15000;
  const list = document.getElementById("files");
  const totalBox = document.getElementById("total");
  const totalBar = document.getElementById("total-bar");
  const totalText = document.getElementById("total-text");
  const summary = document.getElementById("summary");
  const drop = document.getElementById("drop");
  // A touch-only device (a phone) cannot drop files, and mobile browsers cannot pick a folder:
  // offer only what works there.
  const touchOnly = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
  const folderPicking = "webkitdirectory" in document.createElement("input");
  if (touchOnly) {
    drop.classList.add("touch");
    drop.querySelector(".drop-hint").hidden = true;
  }
  if (touchOnly || !folderPicking) drop.querySelector(".folder-picker").hidden = true;
  const items = [];
  let active = 0;

  // ---- formatting -------------------------------------------------------------------------
  function bytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }
  function duration(s) {
    if (!isFinite(s)) return "";
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text; // never innerHTML: names are untrusted
    return e;
  }

  // ---- what is accepted ---------------------------------------------------------------------
  function extension(name) {
    const dot = name.lastIndexOf(".");
    return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
  }
  function refusal(file, path) {
    const ext = extension(file.name);
    if (accept.length && !accept.includes(ext)) return "Files of this type are not accepted here.";
    if (refuse.includes(ext)) return "Files of this type are not accepted here.";
    if (maxFiles !== null && filesUsed >= maxFiles)
      return "This link accepts at most " + maxFiles + " files.";
    if (path.split("/").some((p) => p === "" || p === "." || p === ".."))
      return "This name cannot be used.";
    return null;
  }

  // ---- one file ---------------------------------------------------------------------------
  function resumeKey(path, file) {
    return "ferry-tus:" + grantScope() + ":" + path + ":" + file.size + ":" + file.lastModified;
  }
  function grantScope() {
    // The page URL identifies the token; a reload of the same link can resume. The web
    // client names its own scope (the person and the folder).
    return scope || location.pathname + location.search;
  }

  function addFile(file, path) {
    const item = {
      file, path, offset: 0, sent: 0, url: null, xhr: null, state: "waiting",
      startedAt: 0, attempts: 0, speed: 0, lastTick: 0, lastSent: 0,
    };
    const li = el("li", "file");
    const name = el("span", "name", path);
    const bar = el("progress", "bar");
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute("aria-label", "Progress of " + path);
    const status = el("span", "status", "Waiting");
    status.setAttribute("aria-live", "polite");
    const cancel = el("button", "cancel", "Cancel");
    cancel.type = "button";
    cancel.setAttribute("aria-label", "Cancel " + path);
    const retry = el("button", "retry", "Retry");
    retry.type = "button";
    retry.hidden = true;
    retry.setAttribute("aria-label", "Retry " + path);
    li.append(name, bar, status, cancel, retry);
    list.append(li);
    Object.assign(item, { li, bar, status, cancel, retry });
    cancel.addEventListener("click", () => cancelItem(item));
    retry.addEventListener("click", () => {
      filesUsed++; // given back when it failed or was cancelled
      item.state = "waiting";
      item.attempts = 0;
      retry.hidden = true;
      cancel.hidden = false;
      li.classList.remove("failed", "cancelled");
      setStatus(item, "Waiting");
      pump();
    });
    const why = refusal(file, path);
    if (why) {
      finishItem(item, "refused", why);
    } else {
      filesUsed++;
    }
    items.push(item);
    totalBox.hidden = false;
    summary.hidden = true;
  }

  function setStatus(item, text) {
    item.status.textContent = text;
  }

  function finishItem(item, state, text) {
    item.state = state;
    item.li.classList.add(state);
    item.cancel.hidden = true;
    item.retry.hidden = !(state === "failed" || state === "cancelled");
    setStatus(item, text);
    render();
  }

  // One tus request; `owner` (a file item) remembers it so that Cancel can abort it.
  function request(method, url, headers, body, onProgress, owner) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      if (owner) owner.xhr = xhr;
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader(authHeader, authValue);
      for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      else xhr.timeout = SHORT_REQUEST_MS;
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new Error("network"));
      xhr.onabort = () => reject(new Error("aborted"));
      xhr.ontimeout = () => reject(new Error("network"));
      xhr.send(body === undefined ? null : body);
    });
  }

  // The web client's session ended (signed out, idle, disabled): the upload's address is kept,
  // so that after signing in again the same file continues where it stopped.
  function signedOut() {
    return { fatal: "You were signed out. Sign in again and choose the same file: it continues where it stopped.", keep: true };
  }

  function serverMessage(xhr) {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && body.Message) return body.Message;
    } catch (_) { /* not JSON */ }
    return xhr.responseText || "The server refused the upload (" + xhr.status + ").";
  }

  function b64(text) {
    return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  }

  async function createUpload(item) {
    let meta = "filename " + b64(item.file.name) + ",relativePath " + b64(item.path);
    if (targetFolder) meta += ",folder " + b64(targetFolder);
    const xhr = await request("POST", endpoint, {
      "Upload-Length": String(item.file.size),
      "Upload-Metadata": meta,
    });
    if (xhr.status === 401) throw signedOut();
    if (xhr.status !== 201) throw { fatal: serverMessage(xhr) };
    item.url = xhr.getResponseHeader("Location");
    try { localStorage.setItem(resumeKey(item.path, item.file), item.url); } catch (_) { /* private mode */ }
    if (item.file.size === 0) item.done = true;
  }

  async function currentOffset(item) {
    const xhr = await request("HEAD", item.url);
    if (xhr.status === 200) return parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
    if (xhr.status === 403) throw { fatal: "This page has expired; open the link you were given again." };
    if (xhr.status === 401) throw signedOut();
    return null; // gone: start again
  }

  async function run(item) {
    item.state = "uploading";
    item.startedAt = item.startedAt || performance.now();
    item.cancel.hidden = false;
    setStatus(item, "Starting");
    for (;;) {
      try {
        if (!item.url) {
          const saved = localStorage.getItem(resumeKey(item.path, item.file));
          if (saved) {
            item.url = saved;
            const offset = await currentOffset(item);
            if (offset === null) item.url = null;
            else item.offset = offset;
          }
          if (!item.url) {
            item.offset = 0;
            await createUpload(item);
          }
        } else {
          const offset = await currentOffset(item);
          if (offset === null) { item.url = null; continue; }
          item.offset = offset;
        }
        while (!item.done && item.offset < item.file.size) {
          if (item.state !== "uploading") return;
          const end = Math.min(item.offset + CHUNK, item.file.size);
          const chunk = item.file.slice(item.offset, end);
          const base = item.offset;
          item.progressAt = performance.now();
          item.awaitingReply = false;
          item.lastChunk = end === item.file.size;
          item.storing = false;
          const xhr = await request("PATCH", item.url, {
            "Upload-Offset": String(item.offset),
            "Content-Type": "application/offset+octet-stream",
          }, chunk, (loaded) => {
            item.sent = base + loaded;
            item.awaitingReply = loaded >= chunk.size;
            tick(item);
          }, item);
          item.xhr = null;
          if (xhr.status === 204) {
            item.offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
            item.sent = item.offset;
            item.attempts = 0;
            if (xhr.getResponseHeader("Ferry-File-ID")) item.done = true;
          } else if (xhr.status === 409) {
            // The server kept a different amount than we thought (a request cut short).
            setStatus(item, "Connection lost; resuming");
            const offset = await currentOffset(item);
            if (offset === null) { item.url = null; break; }
            item.offset = offset;
          } else if (xhr.status === 401) {
            throw signedOut();
          } else if (xhr.status === 423 || (xhr.status >= 500 && xhr.status !== 507)) {
            throw new Error("server " + xhr.status);
          } else {
            throw { fatal: serverMessage(xhr) };
          }
        }
        if (!item.url) continue;
        try { localStorage.removeItem(resumeKey(item.path, item.file)); } catch (_) { /* ignore */ }
        item.sent = item.file.size;
        remember(item);
        finishItem(item, "done", "Uploaded (" + bytes(item.file.size) + ")");
        return;
      } catch (err) {
        if (item.state !== "uploading") return; // cancelled
        if (err && err.fatal) {
          filesUsed = Math.max(0, filesUsed - 1);
          if (!err.keep) {
            try { localStorage.removeItem(resumeKey(item.path, item.file)); } catch (_) { /* ignore */ }
          }
          finishItem(item, "failed", err.fatal);
          return;
        }
        if (item.attempts >= RETRY_DELAYS.length) {
          finishItem(item, "failed", "The connection keeps failing. Retry when it is back.");
          return;
        }
        const wait = RETRY_DELAYS[item.attempts++];
        setStatus(item, "Connection lost; resuming in " + Math.round(wait / 1000) + " s");
        item.li.classList.add("retrying");
        await new Promise((r) => setTimeout(r, wait));
        item.li.classList.remove("retrying");
      }
    }
  }

  async function cancelItem(item) {
    const was = item.state;
    item.state = "cancelled";
    if (item.xhr && was === "uploading") {
      try { item.xhr.abort(); } catch (_) { /* already over */ }
      item.xhr = null;
    }
    if (item.url) {
      try { await request("DELETE", item.url); } catch (_) { /* best effort */ }
      try { localStorage.removeItem(resumeKey(item.path, item.file)); } catch (_) { /* ignore */ }
      item.url = null;
    }
    item.offset = 0;
    item.sent = 0;
    item.done = false;
    filesUsed = Math.max(0, filesUsed - 1);
    finishItem(item, "cancelled", "Cancelled");
  }

  function tick(item) {
    const now = performance.now();
    item.progressAt = now;
    if (item.stalled) {
      // Moving again: the speed and time left come from what happens from now on.
      item.stalled = false;
      item.lastTick = 0;
      item.speed = 0;
    }
    if (item.lastTick) {
      const dt = (now - item.lastTick) / 1000;
      if (dt > 0.2) {
        const rate = (item.sent - item.lastSent) / dt;
        item.speed = item.speed ? 0.7 * item.speed + 0.3 * rate : rate;
        item.lastTick = now;
        item.lastSent = item.sent;
      }
    } else {
      item.lastTick = now;
      item.lastSent = item.sent;
    }
    const left = item.speed > 0 ? (item.file.size - item.sent) / item.speed : Infinity;
    setStatus(item, bytes(item.sent) + " of " + bytes(item.file.size) +
      (item.speed > 0 ? " · " + bytes(item.speed) + "/s · " + duration(left) + " left" : ""));
    render();
  }

  function render() {
    let size = 0, sent = 0, speed = 0;
    for (const it of items) {
      if (it.state === "refused" || it.state === "cancelled") continue;
      size += it.file.size;
      sent += it.state === "done" ? it.file.size : Math.max(it.sent, it.offset);
      if (it.state === "uploading") {
        speed += it.speed;
        it.bar.value = Math.max(it.sent, it.offset);
      }
      if (it.state === "done") it.bar.value = it.bar.max;
    }
    totalBar.max = size || 1;
    totalBar.value = sent;
    const left = speed > 0 ? (size - sent) / speed : Infinity;
    totalText.textContent = bytes(sent) + " of " + bytes(size) +
      (speed > 0 ? " · " + bytes(speed) + "/s · " + duration(left) + " left" : "");
    const pending = items.some((it) => it.state === "waiting" || it.state === "uploading");
    if (!pending && items.length) showSummary();
  }

  function showSummary() {
    const done = items.filter((i) => i.state === "done");
    const failed = items.filter((i) => i.state === "failed" || i.state === "refused");
    const cancelled = items.filter((i) => i.state === "cancelled");
    summary.textContent = "";
    summary.append(el("p", "", done.length + " uploaded (" +
      bytes(done.reduce((a, i) => a + i.file.size, 0)) + ")" +
      (failed.length ? ", " + failed.length + " not uploaded" : "") +
      (cancelled.length ? ", " + cancelled.length + " cancelled" : "") + "."));
    summary.hidden = false;
    summary.className = "summary " + (failed.length ? "with-failures" : "all-done");
    if (successUrl && done.length && !failed.length && !cancelled.length) {
      summary.append(el("p", "", "Taking you back…"));
      setTimeout(() => location.assign(successUrl), 1500);
    }
  }

  function pump() {
    while (active < PARALLEL) {
      const next = items.find((i) => i.state === "waiting");
      if (!next) break;
      active++;
      run(next).finally(() => {
        if (next.state === "uploading") next.state = "failed";
        active--;
        pump();
      });
    }
    render();
  }

  // ---- picking and dropping ----------------------------------------------------------------
  function addFiles(pairs) {
    for (const [file, path] of pairs) addFile(file, path);
    pump();
  }

  function fromInput(input) {
    const pairs = Array.from(input.files).map((f) => [f, f.webkitRelativePath || f.name]);
    input.value = "";
    addFiles(pairs);
  }

  async function walk(entry, prefix, out) {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push([file, prefix + file.name]);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const child of batch) await walk(child, prefix + entry.name + "/", out);
      }
    }
  }

  document.getElementById("pick-files").addEventListener("change", (e) => fromInput(e.target));
  document.getElementById("pick-folder").addEventListener("change", (e) => fromInput(e.target));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const entries = Array.from(e.dataTransfer.items || [])
      .map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null))
      .filter(Boolean);
    if (entries.length) {
      const out = [];
      for (const entry of entries) await walk(entry, "", out);
      addFiles(out);
    } else {
      addFiles(Array.from(e.dataTransfer.files).map((f) => [f, f.name]));
    }
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      document.getElementById("pick-files").click();
    }
  });
  // The stall watchdog: a PATCH that has moved nothing for STALL_MS (bytes, or the reply to a
  // chunk that is not the last: a silent outage can begin just as a chunk ends) is aborted, which sends
  // its upload through the retry with back-off; meanwhile the page says the connection is lost
  // instead of showing the last speed.
  setInterval(() => {
    const now = performance.now();
    for (const item of items) {
      if (item.state !== "uploading" || !item.xhr || !item.progressAt) continue;
      const quiet = now - item.progressAt;
      const storing = item.awaitingReply && item.lastChunk;
      if (storing && quiet >= STALL_MS && !item.storing) {
        // Every byte is sent: no speed or time left to show, only that the server is at work.
        item.storing = true;
        setStatus(item, "Sent; the server is storing it");
      }
      if (quiet < (storing ? REPLY_MS : STALL_MS)) continue;
      item.stalled = true;
      item.speed = 0;
      item.lastTick = 0;
      item.progressAt = 0;
      setStatus(item, "Connection lost; retrying");
      item.li.classList.add("retrying");
      try { item.xhr.abort(); } catch (_) { /* already over */ }
    }
  }, 1000);

  window.addEventListener("beforeunload", (e) => {
    if (items.some((i) => i.state === "uploading")) e.preventDefault();
  });

  // ---- what this link already took, as this browser remembers it ---------------------------
  // After a reload the page lists the files this browser uploaded through the link, and says
  // when an upload was interrupted (its address is kept for the resume: the same file chosen
  // again continues where it stopped).
  function doneKey() { return "ferry-done:" + grantScope(); }
  function remembered() {
    try { return JSON.parse(localStorage.getItem(doneKey()) || "[]"); } catch (_) { return []; }
  }
  function remember(item) {
    if (!keepHistory) return;
    const list = remembered();
    list.push({ name: item.path, size: item.file.size });
    try { localStorage.setItem(doneKey(), JSON.stringify(list.slice(-200))); } catch (_) { /* private mode */ }
  }
  function interrupted() {
    const prefix = "ferry-tus:" + grantScope() + ":";
    try {
      for (let i = 0; i < localStorage.length; i++) {
        if ((localStorage.key(i) || "").startsWith(prefix)) return true;
      }
    } catch (_) { /* private mode */ }
    return false;
  }
  (function showEarlier() {
    const list = keepHistory ? remembered() : [];
    const pending = interrupted();
    if (!list.length && !pending) return;
    const box = el("section", "earlier");
    box.id = "earlier";
    if (list.length) {
      box.append(el("h2", "", "Already uploaded through this link"));
      const ul = el("ul", "earlier-files");
      for (const f of list) {
        const li = el("li", "");
        li.append(el("span", "name", String(f.name)), " ", el("span", "size", bytes(Number(f.size) || 0)));
        ul.append(li);
      }
      box.append(ul);
    }
    if (pending) {
      const hint = el("p", "resume-hint",
        "An upload was interrupted: choose the same file again and it continues where it stopped.");
      hint.id = "resume-hint";
      box.append(hint);
    }
    document.getElementById("rules").after(box);
  })();
})();
