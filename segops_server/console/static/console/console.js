// The console's only hand-written script (no build step; the CSP allows scripts from this origin only).
(function () {
  "use strict";

  // Copy buttons: <button data-copy="ID"> copies the value (or text) of the element with that id.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = (source.value !== undefined ? source.value : source.textContent).trim();
    var status = document.querySelector(".copy-status");
    var say = function (message) {
      button.textContent = message;
      if (status) status.textContent = message;
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(
        function () { say("Copied"); },
        function () { source.select && source.select(); say("Press Ctrl+C to copy"); }
      );
    } else {
      if (source.select) source.select();
      say("Press Ctrl+C to copy");
    }
  });

  // Confirmation dialogs fetched by htmx into #modal open as modal dialogs (Esc or Cancel closes).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "modal") return;
    var dialog = target.querySelector("dialog");
    if (dialog && !dialog.open) dialog.showModal();
  });
})();
