// The meeting clock: minutes and seconds since the meeting started.
(function () {
  "use strict";
  function tick() {
    var holder = document.querySelector("[data-started-at]");
    var clock = document.getElementById("clock");
    if (!holder || !clock) { return; }
    var seconds = Math.max(0, Math.floor((Date.now() - Date.parse(holder.dataset.startedAt)) / 1000));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    clock.textContent = m + ":" + (s < 10 ? "0" : "") + s;
  }
  tick();
  window.setInterval(tick, 1000);
})();
