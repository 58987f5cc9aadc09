// Live updates: follow the groups the page names in <body data-live-groups>, apply events.
(function () {
  "use strict";
  const groups = (document.body.dataset.liveGroups || "").split(/\s+/).filter(Boolean);
  if (!groups.length) return;
  const stateDot = document.getElementById("live-state");
  let reloadTimer = null;

  function setText(selector, value) {
    document.querySelectorAll(selector).forEach((el) => { el.textContent = value; });
  }

  function scheduleReload() {
    // Pages that show a whole host re-render from the database when it changed.
    if (!document.querySelector("[data-reload-on]") || reloadTimer) return;
    reloadTimer = setTimeout(() => window.location.reload(), 400);
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
      // The first event after following is a snapshot: reload only if the page is stale.
      if (changed) scheduleReload();
    },
    "host.inventory": (ev) => {
      setText(`[data-host-networks="${ev.host}"]`, ev.networks);
      setText(`[data-host-domains="${ev.host}"]`, ev.domains);
      setText(`[data-host-running="${ev.host}"]`, ev.running);
      scheduleReload();
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
      if (!ev.snapshot && !document.querySelector(`[data-op="${ev.operation}"]`)) scheduleReload();
    },
  };

  function connect(delay) {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/live/`);
    ws.onopen = () => {
      groups.forEach((g) => ws.send(JSON.stringify({ follow: g })));
      if (stateDot) stateDot.classList.add("connected");
    };
    ws.onmessage = (msg) => {
      const ev = JSON.parse(msg.data);
      if (ev.type === "following" && stateDot) stateDot.dataset.following = (stateDot.dataset.following || "") + ev.group + " ";
      const handle = handlers[ev.type];
      if (handle) handle(ev);
    };
    ws.onclose = () => {
      if (stateDot) stateDot.classList.remove("connected");
      setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
    };
  }
  connect(1000);
})();
