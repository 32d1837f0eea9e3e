// The weekly review's 15-minute timer. The start time comes from the server, so every
// screen showing the review counts the same minutes; the time boxes come from the page.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    var s = Math.abs(seconds);
    return (seconds < 0 ? "−" : "") + Math.floor(s / 60) + ":" + pad(s % 60);
  }
  function tick() {
    var timer = document.getElementById("timer");
    if (!timer || !timer.dataset.startedAt) { return; }
    var total = Number(timer.dataset.totalMinutes) * 60;
    var elapsed = Math.max(0, Math.floor((Date.now() - Date.parse(timer.dataset.startedAt)) / 1000));
    var left = total - elapsed;
    var remaining = document.getElementById("timer-left");
    remaining.textContent = clock(left);
    timer.classList.toggle("timer-over", left < 0);
    var now = document.getElementById("timer-now");
    var current = null;
    timer.querySelectorAll("[data-box]").forEach(function (box) {
      var from = Number(box.dataset.from) * 60, to = from + Number(box.dataset.minutes) * 60;
      var active = elapsed >= from && elapsed < to;
      var past = elapsed >= to;
      box.classList.toggle("box-now", active);
      box.classList.toggle("box-past", past);
      box.querySelector(".box-state").textContent = active ? box.dataset.nowLabel + " " + clock(to - elapsed) : (past ? "✓" : "");
      if (active) { current = box; }
    });
    now.textContent = current ? current.dataset.title : (left < 0 ? timer.dataset.overLabel : "");
  }
  tick();
  window.setInterval(tick, 1000);
  // The panel is fetched again every few seconds (a restart elsewhere shows here): redraw
  // the clock at once rather than show the server's "15:00" until the next second.
  document.addEventListener("htmx:afterSwap", tick);
})();

// Print buttons: the page's own print styles leave the forms out.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
