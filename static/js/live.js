// Live updates for the board, the meeting, the checklist and the dashboard.
//
// The htmx SSE extension keeps one EventSource per page (the element with sse-connect).
// Each `panels` message names the panels that changed; each name becomes the event
// `panel-<name>` on the body, and the panel of that name, listening for it, re-fetches
// itself (hx-trigger, from the live_panel template tag: live/templatetags/live.py). Every
// panel is asked when the stream is back after a drop, while it is down (every 10
// seconds), and when a hidden tab (whose stream is closed) is shown again. A stream the
// server ends with `signed-out` reloads the page onto the login form. A panel someone is
// typing in waits until the focus leaves it: a refresh never throws typed words away.
(function () {
  "use strict";
  var POLL_MS = 10000;
  var pollTimer = null;
  var template = null;   // a clean copy of the connector, to reconnect after hiding

  function connector() { return document.getElementById("live"); }

  var TYPING = /^(TEXTAREA|SELECT)$/;
  var NOT_TYPED = /^(submit|button|reset|hidden|checkbox|radio)$/;

  function typingIn(el) {
    var active = document.activeElement;
    if (!active || active === document.body || !el.contains(active)) { return false; }
    return TYPING.test(active.tagName) || (active.tagName === "INPUT" && !NOT_TYPED.test(active.type));
  }

  function refresh(names) {
    names.forEach(function (name) {
      name = name.trim();
      var el = name && document.getElementById(name);
      if (!el || !el.hasAttribute("data-live-panel")) { return; }
      if (typingIn(el)) {
        // Someone is typing in this panel (a rationale, a new action item): a refresh now
        // would throw their words away. It refreshes once the focus leaves the panel.
        if (!el.dataset.livePending) {
          el.dataset.livePending = "1";
          el.addEventListener("focusout", function later(evt) {
            if (evt.relatedTarget && el.contains(evt.relatedTarget)) { return; }
            el.removeEventListener("focusout", later);
            delete el.dataset.livePending;
            window.setTimeout(function () { refresh([name]); }, 0);
          });
        }
        return;
      }
      if (el.classList.contains("htmx-request")) {
        // The refresh in flight may have read before this change, and htmx drops a request
        // queued on a panel its answer replaces: ask again once it has landed.
        window.setTimeout(function () { refresh([name]); }, 150);
        return;
      }
      htmx.trigger(document.body, "panel-" + name);
    });
  }

  function refreshAll() {
    var names = [];
    document.querySelectorAll("[data-live-panel]").forEach(function (el) { names.push(el.id); });
    refresh(names);
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
    if (evt.detail && evt.detail.type === "panels" && typeof evt.detail.data === "string") {
      refresh(evt.detail.data.split(","));
    }
  });
  document.addEventListener("htmx:sseOpen", function () {
    var reconnected = document.documentElement.dataset.live === "polling";
    document.documentElement.dataset.live = "open";
    stopPolling();
    if (reconnected) { refreshAll(); }
  });
  document.addEventListener("htmx:sseError", startPolling);

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
