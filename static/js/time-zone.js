// The offer of the browser's time zone (templates/accounts/_time_zone_offer.html): rendered
// only for a person who has chosen none, shown only when the browser's zone is another than
// the server's. Either button saves a choice, so it is offered once.
(function () {
  "use strict";
  var form = document.getElementById("time-zone-offer");
  if (!form) { return; }
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!zone || zone === form.dataset.serverZone) { return; }
  form.querySelectorAll("[data-browser-zone]").forEach(function (el) { el.textContent = zone; });
  form.querySelector("[data-browser-zone-value]").value = zone;
  form.hidden = false;
})();
