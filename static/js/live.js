// Live updates for the board and the dashboard.
//
// The htmx SSE extension keeps one EventSource per page (the element with sse-connect);
// each message names the panels that changed, and we ask htmx to re-fetch just those
// (each panel has hx-trigger="gonogo:refresh"). When the stream drops, panels are polled
// until it is back; a hidden tab closes its stream and catches up when shown again.
(function () {
  "use strict";
  var POLL_MS = 10000;
  var pollTimer = null;
  var template = null;   // a clean copy of the connector, to reconnect after hiding

  function connector() { return document.getElementById("live"); }

  function refresh(ids) {
    ids.forEach(function (id) {
      var el = document.getElementById(id.trim());
      if (!el || !el.hasAttribute("hx-get")) { return; }
      if (el.classList.contains("htmx-request")) {
        // htmx would drop a second request on a busy element, and the one in flight may
        // have read before this change: ask again once it has landed.
        window.setTimeout(function () { refresh([id]); }, 150);
        return;
      }
      htmx.trigger(el, "gonogo:refresh");
    });
  }

  function refreshAll() {
    var ids = [];
    document.querySelectorAll("[data-live-panel]").forEach(function (el) { ids.push(el.id); });
    refresh(ids);
  }

  function startPolling() {
    if (pollTimer === null) {
      document.documentElement.dataset.live = "polling";
      pollTimer = window.setInterval(function () { if (!document.hidden) { refreshAll(); } }, POLL_MS);
    }
  }

  function stopPolling() {
    if (pollTimer !== null) { window.clearInterval(pollTimer); pollTimer = null; }
  }

  document.addEventListener("htmx:sseMessage", function (evt) {
    // The server ends the stream this way when the session has ended or expired: reload,
    // and the page itself sends the person to the login form.
    if (evt.detail && evt.detail.type === "signed-out") { window.location.reload(); return; }
    if (evt.detail && typeof evt.detail.data === "string") { refresh(evt.detail.data.split(",")); }
  });
  document.addEventListener("htmx:sseOpen", function () {
    var reconnected = document.documentElement.dataset.live === "polling";
    document.documentElement.dataset.live = "open";
    stopPolling();
    if (reconnected) { refreshAll(); }
  });
  document.addEventListener("htmx:sseError", startPolling);

  // A refused action (a rule said no: 400, 403, 409) comes back as the panel with its reason.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Gonogo-Refused")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  document.addEventListener("visibilitychange", function () {
    var live = connector();
    if (document.hidden) {
      if (live) {
        template = live.cloneNode(true);
        htmx.remove(live);          // htmx cleans up: the extension closes the EventSource
      }
      stopPolling();
      document.documentElement.dataset.live = "paused";
    } else if (template) {
      var fresh = template;
      template = null;
      document.body.appendChild(fresh);
      htmx.process(fresh);
      refreshAll();
    }
  });
})();
