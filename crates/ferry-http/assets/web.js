// Ferry's web client: what the pages do better with a script. Every page works without it;
// nothing here holds a rule (the server decides everything). No inline handlers: the
// Content-Security-Policy forbids them, so behaviour is attached here.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  const question = (button && button.dataset.confirm) ||
    (form instanceof HTMLFormElement ? form.dataset.confirm : undefined);
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A details menu closes when another opens, or on Escape, returning focus to its summary.
document.addEventListener("toggle", (event) => {
  const opened = event.target;
  if (!(opened instanceof HTMLDetailsElement) || !opened.open) return;
  for (const other of document.querySelectorAll("details.row-actions[open]")) {
    if (other !== opened) other.open = false;
  }
}, true);
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = document.activeElement && document.activeElement.closest("details[open]");
  if (open) {
    open.open = false;
    const summary = open.querySelector("summary");
    if (summary) summary.focus();
  }
});

// "Copy" beside a link: the field's text to the clipboard (the field stays selectable by hand).
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button.copy") : null;
  if (!button) return;
  const field = document.getElementById(button.dataset.copy || "");
  if (!field) return;
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = "Copied";
  } catch (_) {
    button.textContent = "Press Ctrl+C";
  }
});
