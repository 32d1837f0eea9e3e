// The checklist page without a mouse: J / ↓ and K / ↑ move between items; P, F, B, N
// press the focused item's outcome buttons; U undoes your last tick. Every key presses a
// real button of a real form, so the server rules (and the no-JavaScript path) are the same.
(function () {
  "use strict";
  var KEYS = { p: "p", f: "f", b: "b", n: "n" };

  function items() { return Array.prototype.slice.call(document.querySelectorAll("[data-item]")); }

  function current() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("[data-item]") : null;
  }

  function focusItem(el) {
    if (!el) { return; }
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = items();
    if (!all.length) { return; }
    var at = all.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
    focusItem(all[next]);
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    var target = evt.target;
    if (target && target.closest && target.closest("input, textarea, select, [contenteditable]")) { return; }
    var key = evt.key.toLowerCase();
    if (key === "j" || key === "arrowdown") { evt.preventDefault(); move(1); return; }
    if (key === "k" || key === "arrowup") { evt.preventDefault(); move(-1); return; }
    if (key === "u") {
      var undo = document.querySelector("[data-undo]:not([disabled])");
      if (undo) { evt.preventDefault(); undo.click(); }
      return;
    }
    if (KEYS[key]) {
      var item = current();
      if (item && item.querySelector(".htmx-request")) { evt.preventDefault(); return; }  // a tick is on its way
      var button = item && item.querySelector('button[data-key="' + KEYS[key] + '"]');
      if (button) { evt.preventDefault(); button.click(); }
    }
  });

  // After a tick the item is replaced: keep the keyboard where it was. A pass moves on to
  // the next item; a failure stays, with the cursor in the defect form.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var el = evt.detail.target;
    if (!el || !el.id || el.id.indexOf("item-") !== 0) { return; }
    var fresh = document.getElementById(el.id);
    if (!fresh) { return; }
    var title = fresh.querySelector("[data-defect-title]");
    if (title) { title.focus(); return; }
    var state = fresh.getAttribute("data-state");
    var refused = evt.detail.xhr && evt.detail.xhr.status >= 400;  // swapped in: base.html responseHandling
    if (!refused && (state === "passed" || state === "n/a")) {
      var all = items();
      focusItem(all[all.indexOf(fresh) + 1] || fresh);
    } else {
      focusItem(fresh);
    }
  });

  // Undo re-renders the summary; bring the keyboard back to the item that changed.
  document.addEventListener("checklist-undone", function (evt) {
    var id = evt.detail && evt.detail.item;
    if (!id) { return; }
    var item = document.getElementById(id);
    if (item) {
      htmx.ajax("GET", window.location.pathname, { target: "#" + id, swap: "outerHTML" }).then(function () {
        focusItem(document.getElementById(id));
      });
    }
  });
})();
