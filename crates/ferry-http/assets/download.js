// Ferry's download tool: shows sizes in readable units. The links themselves are plain
// attachments and work without this script.
"use strict";

(function () {
  for (const el of document.querySelectorAll(".size[data-bytes]")) {
    let n = parseInt(el.dataset.bytes, 10);
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    el.textContent = (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }
})();
