// Live updates: follow the groups the page names in <body data-live-groups>, apply events.
//
// One way for every page: small fields an event carries (a status badge, a progress bar) are
// set directly; anything else re-renders the page's regions in place — every element with
// `data-live-region` and an id is replaced by the same element of a fresh render of this URL,
// in one request (htmx, hx-select-oob). The page never reloads: open tabs, forms and graphs
// outside the regions stay as they are. `window.kvmwebLive.updatedAt` records (epoch ms) when
// the regions last changed and `shown[ifname]` when an interface's state was last set from an
// event, for tests and bench/live_bench.py. Scripts add their own handlers with
// `kvmwebLive.on(type, fn)` (loaded after this one); `live.connected` ({again}) is told on each
// (re)connection.
(function () {
  "use strict";
  const groups = (document.body.dataset.liveGroups || "").split(/\s+/).filter(Boolean);
  const live = (window.kvmwebLive = window.kvmwebLive || { listeners: {}, updatedAt: 0, cause: "", shown: {} });
  live.on = (type, fn) => { (live.listeners[type] = live.listeners[type] || []).push(fn); };
  if (!groups.length) return;
  const stateDot = document.getElementById("live-state");
  const refresher = document.getElementById("live-refresh");
  let pendingCause = "";

  function regionSelector() {
    return Array.from(document.querySelectorAll("[data-live-region][id]"))
      .map((el) => `#${CSS.escape(el.id)}`).join(",");
  }

  function refresh(cause) {
    // Coalesced by htmx (hx-trigger delay): a burst of events costs one render.
    const selector = regionSelector();
    if (!selector || !refresher || !window.htmx) return;
    pendingCause = cause;
    refresher.setAttribute("hx-select-oob", selector);
    document.body.dispatchEvent(new CustomEvent("live-refresh"));
  }

  document.body.addEventListener("htmx:oobAfterSwap", () => {
    live.updatedAt = Date.now();
    live.cause = pendingCause;
  });

  function setText(selector, value) {
    document.querySelectorAll(selector).forEach((el) => { el.textContent = value; });
  }

  const handlers = {
    "host.status": (ev) => {
      let changed = false;
      document.querySelectorAll(`[data-host-status="${ev.host}"]`).forEach((el) => {
        changed = changed || el.dataset.status !== ev.status;
        el.dataset.status = ev.status;
        el.textContent = ev.status_display;
        el.className = `badge status-${ev.status}`;
        el.title = ev.reason;
      });
      setText(`[data-host-reason="${ev.host}"]`, ev.reason);
      if (ev.last_seen) setText(`[data-host-last-seen="${ev.host}"]`, ev.last_seen.replace("T", " ").slice(0, 19));
      // The first event after following is a snapshot: re-render only if the page is stale.
      if (changed) refresh("host.status");
    },
    "host.inventory": (ev) => {
      setText(`[data-host-networks="${ev.host}"]`, ev.networks);
      setText(`[data-host-domains="${ev.host}"]`, ev.domains);
      setText(`[data-host-running="${ev.host}"]`, ev.running);
      refresh("host.inventory");
    },
    "host.interfaces": (ev) => {
      // The link state is in the event: show it at once, then re-render the regions (ports,
      // addresses, new or removed interfaces) from the server.
      ev.interfaces.forEach((iface) => {
        document.querySelectorAll(`[data-iface="${CSS.escape(iface.name)}"]`).forEach((row) => {
          row.dataset.up = iface.up ? "up" : "down";
          row.dataset.state = iface.state;
          row.querySelectorAll("[data-iface-state]").forEach((el) => {
            el.textContent = iface.state + (iface.up ? "" : " (down)");
          });
        });
        live.shown[iface.name] = { up: iface.up, state: iface.state, at: Date.now() };
      });
      // Pages that show no interfaces (the hosts list) need no new render for this.
      if (document.querySelector("[data-iface], [data-live-interfaces]")) refresh(`host.interfaces ${ev.events.join("; ")}`);
    },
    "operation.update": (ev) => {
      document.querySelectorAll(`[data-op="${ev.operation}"]`).forEach((row) => {
        const bar = row.querySelector("[data-op-progress]");
        if (bar) {
          bar.style.width = `${ev.progress}%`;
          bar.textContent = `${ev.progress}%`;
          const done = ["succeeded", "failed", "rolled_back"].includes(ev.status);
          bar.classList.toggle("progress-bar-animated", !done);
          bar.classList.toggle("progress-bar-striped", !done);
        }
        const badge = row.querySelector("[data-op-status]");
        if (badge) { badge.textContent = ev.status_display; badge.className = `badge op-${ev.status}`; }
        const err = row.querySelector("[data-op-error]");
        if (err) err.textContent = ev.error;
      });
      setText(`[data-op-log="${ev.operation}"]`, ev.log);
      // A new operation on this page's host: show it (snapshots only refresh what is shown).
      if (!ev.snapshot && !document.querySelector(`[data-op="${ev.operation}"]`)) refresh("operation");
    },
  };

  let connections = 0;
  function connect(delay) {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/live/`);
    ws.onopen = () => {
      delay = 1000;
      groups.forEach((g) => ws.send(JSON.stringify({ follow: g })));
      if (stateDot) stateDot.classList.add("connected");
      // Listeners that keep their own state (the topology) catch up after a reconnect.
      const ev = { type: "live.connected", again: connections > 0 };
      connections += 1;
      (live.listeners[ev.type] || []).forEach((fn) => fn(ev));
    };
    ws.onmessage = (msg) => {
      const ev = JSON.parse(msg.data);
      if (ev.type === "following" && stateDot) stateDot.dataset.following = (stateDot.dataset.following || "") + ev.group + " ";
      const handle = handlers[ev.type];
      if (handle) handle(ev);
      (live.listeners[ev.type] || []).forEach((fn) => fn(ev));
    };
    ws.onclose = () => {
      if (stateDot) { stateDot.classList.remove("connected"); stateDot.dataset.following = ""; }
      setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
    };
  }
  connect(1000);
})();
