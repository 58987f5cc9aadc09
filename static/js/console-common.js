// Shared by the console pages: one-time tickets from the API, the websocket URL, the status badge.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const statusEl = document.getElementById("console-status");
  const REFUSED = { 4401: "log in again", 4403: "refused", 4404: "unavailable", 4429: "too many consoles" };

  window.kvmwebConsoleCommon = {
    // POST /api/consoles/tickets/: the server checks the right to operate this VM.
    async ticket(vm, kind) {
      const response = await fetch("/api/consoles/tickets/", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ vm: Number(vm), kind: kind }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || `ticket refused (${response.status})`);
      return body;
    },
    url(ticket, extra) {
      const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
      const params = new URLSearchParams({ ticket: ticket.ticket, ...(extra || {}) });
      return `${proto}//${window.location.host}${ticket.websocket}?${params}`;
    },
    status(text, state) {
      statusEl.textContent = text;
      statusEl.dataset.state = state;
      const tone = { connected: "success", connecting: "info", refused: "danger", closed: "secondary", dropped: "warning" }[state] || "secondary";
      statusEl.className = `badge text-bg-${tone}`;
    },
    // Did the server refuse (do not retry) or did the connection drop (retry)?
    refused(code) { return code in REFUSED; },
  };
})();
