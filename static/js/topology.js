// The topology page: Cytoscape.js draws /api/topology/ and applies the deltas pushed on
// /ws/live/ (topology.delta on host.<pk>) and the traffic rates (host.rates on rates.<pk>).
// Positions come from a deterministic grid layout computed here; updates never re-lay out what
// is already placed (new nodes go next to a placed neighbour), so the picture does not jump.
(function () {
  "use strict";
  const box = document.getElementById("topology");
  if (!box || typeof cytoscape === "undefined") return;
  const DX = 96, DY = 64;                      // one grid cell
  const statusEl = document.getElementById("topo-status");
  const T = window.kvmwebTopology = { versions: {}, lastApplied: null, firstPaint: null };
  const parts = new Map();                     // host pk -> Set of element ids it contributes
  const used = new Map();                      // "col,row" -> node id (grid occupancy)
  const expanded = new Set();                  // group ids the user opened
  let pathMode = false, pathEnds = [];

  // -- styles ----------------------------------------------------------------------------------
  const style = [
    { selector: "node", style: { label: "data(label)", "font-size": 9, "text-valign": "bottom",
      "text-margin-y": 2, width: 26, height: 26, "background-color": "#adb5bd",
      "border-width": 2, "border-color": "#495057" } },
    { selector: "node[kind='host']", style: { shape: "round-rectangle", "background-color": "#f8f9fa",
      "background-opacity": 0.6, "text-valign": "top", "font-size": 14, "font-weight": "bold",
      "border-color": "#6c757d", padding: 18 } },
    { selector: "node[kind='host'][?offline]", style: { "border-style": "dashed", "border-color": "#dc3545",
      color: "#dc3545" } },
    { selector: "node[kind='iface']", style: { shape: "round-rectangle", "background-color": "#cfe2ff" } },
    { selector: "node[ifkind='bridge']", style: { shape: "barrel", width: 42, "background-color": "#9ec5fe" } },
    { selector: "node[ifkind='bond']", style: { shape: "octagon", "background-color": "#b6d4fe" } },
    { selector: "node[ifkind='vlan']", style: { shape: "tag", "background-color": "#e0cffc" } },
    { selector: "node[ifkind='tap']", style: { shape: "ellipse", width: 18, height: 18, "background-color": "#e9ecef" } },
    { selector: "node[ifkind='macvtap']", style: { shape: "diamond", width: 20, height: 20, "background-color": "#ffe5d0" } },
    { selector: "node[?uplink]", style: { "border-width": 3, "border-color": "#0d6efd" } },
    { selector: "node[kind='network']", style: { shape: "cut-rectangle", width: 52, "background-color": "#a3cfbb" } },
    { selector: "node[kind='network'][mode='route'], node[kind='network'][mode='open']", style: { "background-color": "#a6e9d5" } },
    { selector: "node[kind='network'][mode='isolated']", style: { "background-color": "#dee2e6" } },
    { selector: "node[kind='vm']", style: { shape: "round-rectangle", width: 56, height: 24, "background-color": "#d1e7dd",
      "text-valign": "center", "text-margin-y": 0 } },
    { selector: "node[kind='vm'][state!='running']", style: { "background-color": "#e9ecef", "border-style": "dashed" } },
    { selector: "node[kind='nic']", style: { shape: "ellipse", width: 14, height: 14, "background-color": "#fff3cd" } },
    { selector: "node[kind='lan']", style: { shape: "round-rectangle", width: 120, height: 22, "background-color": "#fff3cd",
      "border-color": "#997404", "text-valign": "center", "text-margin-y": 0, "font-weight": "bold" } },
    { selector: "node[kind='vmgroup']", style: { shape: "round-tag", width: 64, height: 30, "background-color": "#d1e7dd",
      "text-valign": "center", "text-margin-y": 0 } },
    { selector: "node[state='down']", style: { "border-color": "#dc3545", "border-width": 4, "background-color": "#f8d7da" } },
    { selector: "node[state='nocarrier']", style: { "border-color": "#fd7e14", "border-width": 4 } },
    { selector: "node[state='inactive']", style: { "border-style": "dashed", opacity: 0.6 } },
    { selector: "node.stale", style: { opacity: 0.45 } },
    { selector: "edge", style: { width: 1.5, "line-color": "#868e96", "curve-style": "straight", "font-size": 8,
      "text-background-color": "#fff", "text-background-opacity": 0.8 } },
    { selector: "edge[kind='forward']", style: { "line-style": "dashed", "line-color": "#0d6efd", label: "data(mode)",
      "target-arrow-shape": "triangle", "target-arrow-color": "#0d6efd" } },
    { selector: "edge[kind='lan']", style: { width: 3, "line-color": "#997404" } },
    { selector: "edge[kind='source'], edge[kind='group']", style: { "line-style": "dotted" } },
    { selector: "edge[kind='uses']", style: { width: 3, "line-color": "#198754" } },
    { selector: "edge.busy", style: { width: "data(w)", label: "data(rateLabel)", "line-color": "#20c997" } },
    { selector: ".member-hidden", style: { display: "none" } },
    { selector: ".match", style: { "border-color": "#d63384", "border-width": 5 } },
    { selector: ".path", style: { "line-color": "#d63384", "border-color": "#d63384", "border-width": 4,
      width: 5, "z-index": 99 } },
    { selector: ".path-end", style: { "background-color": "#d63384" } },
  ];
  const cy = T.cy = cytoscape({ container: box, style, layout: { name: "preset" },
    hideEdgesOnViewport: true, textureOnViewport: true, minZoom: 0.02, maxZoom: 3 });

  // -- layout: rows by tier inside each host box, VMs as columns (tap over NIC over VM) ----------
  function tier(d) {
    if (d.kind === "network") return 3;
    if (d.kind === "nic" || d.kind === "vmgroup") return 6;
    if (d.kind === "vm") return 7;
    if (d.kind !== "iface") return 0;
    return { bond: 1, vlan: 2, bridge: 4, tap: 5, macvtap: 5 }[d.ifkind] || 0;
  }
  function place(id, col, row) { used.set(`${col},${row}`, id); return { x: col * DX, y: row * DY }; }
  function freeCol(col, row) { while (used.has(`${col},${row}`)) col += 1; return col; }

  // Lay out one host's nodes (data dicts) from grid cell (col0, row0); returns its width in cells.
  function layoutHost(nodes, edges, col0, row0, pos) {
    const byId = new Map(nodes.map((d) => [d.id, d]));
    const nbrs = new Map();
    edges.forEach((e) => {
      if (!byId.has(e.source) || !byId.has(e.target)) return;
      (nbrs.get(e.source) || nbrs.set(e.source, []).get(e.source)).push(e.target);
      (nbrs.get(e.target) || nbrs.set(e.target, []).get(e.target)).push(e.source);
    });
    const colOf = new Map();
    const units = [], rows = [[], [], [], [], [], []];
    nodes.forEach((d) => {
      const t = tier(d);
      if (d.kind === "vm" || d.kind === "vmgroup") units.push(d);
      else if (t < 6 && !(t === 5 && (nbrs.get(d.id) || []).some((n) => byId.get(n).kind === "nic"))) rows[t].push(d);
    });
    const bary = (d) => {
      const xs = (nbrs.get(d.id) || []).filter((n) => colOf.has(n)).map((n) => colOf.get(n));
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 1e9;
    };
    let width = 1;
    rows.forEach((row, t) => {
      row.map((d) => [bary(d), d.id, d]).sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
        .forEach(([, , d], i) => { colOf.set(d.id, i); pos[d.id] = place(d.id, col0 + i, row0 + t); });
      width = Math.max(width, row.length);
    });
    // A VM unit: its NICs side by side, each under its tap; the VM under them. Groups: one cell.
    const unitCols = (u) => u.kind === "vmgroup" ? [u.id] :
      (nbrs.get(u.id) || []).filter((n) => byId.get(n).kind === "nic").sort();
    const anchorCol = (u) => {
      const first = unitCols(u)[0];
      const near = u.kind === "vmgroup" ? nbrs.get(u.id) || [] : (nbrs.get(first) || []).flatMap((t) => [t, ...(nbrs.get(t) || [])]);
      const cols = near.filter((n) => colOf.has(n)).map((n) => colOf.get(n));
      return cols.length ? Math.min(...cols) : 1e9;
    };
    units.sort((a, b) => (a.kind === "vmgroup") - (b.kind === "vmgroup") || anchorCol(a) - anchorCol(b) || (a.label < b.label ? -1 : 1));
    const perRow = Math.max(8, width);
    let c = 0, r = rows[5].length ? 1 : 0;     // below the taps no VM owns
    units.forEach((u) => {
      if (u.group) return; // laid out when its group is opened
      const cols = unitCols(u);
      if (c > 0 && c + cols.length > perRow) { c = 0; r += 3; }
      cols.forEach((nic, i) => {
        const tap = (nbrs.get(nic) || []).find((n) => byId.get(n).kind === "iface");
        if (tap && !(tap in pos)) pos[tap] = place(tap, col0 + c + i, row0 + 5 + r);
        if (nic !== u.id) pos[nic] = place(nic, col0 + c + i, row0 + 6 + r);
      });
      pos[u.id] = u.kind === "vmgroup" ? place(u.id, col0 + c, row0 + 6 + r)
        : place(u.id, col0 + c, row0 + 7 + r);
      if (cols.length > 1) pos[u.id].x += (cols.length - 1) * DX / 2;
      c += Math.max(1, cols.length);
      width = Math.max(width, c);
    });
    return width;
  }

  // Positions for a whole graph (first paint, or the bench's "redraw everything" baseline).
  function layoutAll(nodes, edges) {
    used.clear();
    const pos = {}, byHost = new Map();
    nodes.forEach((d) => { if (d.host !== null && d.kind !== "host") (byHost.get(d.host) || byHost.set(d.host, []).get(d.host)).push(d); });
    let col = 0, row = 2, rowMax = 0;
    nodes.filter((d) => d.kind === "host").map((d) => d.host).sort((a, b) => a - b).forEach((h) => {
      const w = layoutHost(byHost.get(h) || [], edges, col, row, pos);
      col += w + 2;
      rowMax = Math.max(rowMax, ...Object.values(pos).map((p) => p.y / DY));
      if (col > 40) { col = 0; row = Math.ceil(rowMax) + 3; }
    });
    nodes.filter((d) => d.kind === "lan").forEach((d, i) => {
      const ends = edges.filter((e) => e.source === d.id && pos[e.target]).map((e) => pos[e.target].x / DX);
      const c = ends.length ? Math.round(ends.reduce((a, b) => a + b, 0) / ends.length) : i * 2;
      let col = freeCol(c, 0);
      while (used.has(`${col + 1},0`)) col = freeCol(col + 1, 0);
      pos[d.id] = place(d.id, col, 0);
      used.set(`${col + 1},0`, d.id);             // a LAN node is two cells wide
    });
    return pos;
  }

  // A new node next to a placed neighbour (below it if it sits lower in the tiers), in a free cell.
  function placeNew(node) {
    const d = node.data();
    const placed = node.neighborhood("node").filter((n) => n.scratch("_placed"));
    let col, row;
    if (placed.length) {
      const p = placed[0].position(), down = tier(d) >= tier(placed[0].data());
      col = Math.round(p.x / DX); row = Math.round(p.y / DY) + (d.kind === "lan" ? 0 : (down ? 1 : -1));
    } else {
      const host = d.host !== null ? cy.getElementById(`host:${d.host}`) : null;
      const bb = host && host.nonempty() && host.children().nonempty() ? host.children().boundingBox() : cy.elements().boundingBox();
      col = Math.round((bb.x1 || 0) / DX); row = Math.round((bb.y2 || 0) / DY) + 1;
    }
    node.position(place(d.id, freeCol(col, row), row));
    node.scratch("_placed", true);
  }

  // -- applying changes ------------------------------------------------------------------------
  function own(host, id) { (parts.get(host) || parts.set(host, new Set()).get(host)).add(id); }
  function ownedElsewhere(host, id) {
    for (const [h, ids] of parts) if (h !== host && ids.has(id)) return true;
    return false;
  }

  // Apply a delta {add_nodes, add_edges, remove, change} from one host; positions kept.
  function applyDelta(host, delta) {
    const started = performance.now(), fresh = [];
    cy.batch(() => {
      delta.remove.forEach((id) => {
        const ids = parts.get(host);
        if (ids) ids.delete(id);
        if (ownedElsewhere(host, id)) return;
        const el = cy.getElementById(id);
        if (el.nonempty()) {
          if (el.isNode()) { const p = el.position(); used.delete(`${Math.round(p.x / DX)},${Math.round(p.y / DY)}`); }
          el.remove();
        }
      });
      const adds = delta.add_nodes.slice().sort((a, b) => (a.data.kind === "host" ? -1 : 0) - (b.data.kind === "host" ? -1 : 0) || tier(a.data) - tier(b.data));
      adds.forEach((n) => {
        own(host, n.data.id);
        const el = cy.getElementById(n.data.id);
        if (el.nonempty()) { el.data(n.data); return; }
        fresh.push(cy.add({ group: "nodes", data: n.data }));
      });
      delta.add_edges.forEach((e) => {
        own(host, e.data.id);
        if (cy.getElementById(e.data.id).empty()) cy.add({ group: "edges", data: e.data });
      });
      delta.change.forEach((c) => cy.getElementById(c.id).data(c.data));
      fresh.forEach((n) => { if (n.data("kind") !== "host") placeNew(n); });
      refreshGroups();
      staleHosts();
    });
    edgeIndex = null;
    const t = performance.now();
    const done = T.lastApplied = { host, version: delta.version, t, ms: t - started,
      ids: fresh.map((n) => n.id()).concat(delta.change.map((c) => c.id)),
      touched: delta.add_nodes.length + delta.add_edges.length + delta.remove.length + delta.change.length };
    T.applied = (T.applied || []).slice(-99).concat([done]);
    // ...and when the frame showing it was drawn (benches read both)
    requestAnimationFrame(() => requestAnimationFrame(() => { done.framed = performance.now() - started; }));
  }

  // What a refetched part means for what is shown: the delta between the two.
  function deltaTo(host, elements) {
    const have = parts.get(host) || new Set(), want = new Set();
    const delta = { add_nodes: [], add_edges: [], remove: [], change: [] };
    const visit = (group, list) => list.forEach((el) => {
      want.add(el.data.id);
      const cur = cy.getElementById(el.data.id);
      if (cur.empty()) delta[group].push(el);
      else if (JSON.stringify(cur.data()) !== JSON.stringify({ ...cur.data(), ...el.data })) delta.change.push({ id: el.data.id, data: el.data });
      else own(host, el.data.id);
    });
    visit("add_nodes", elements.nodes); visit("add_edges", elements.edges);
    have.forEach((id) => { if (!want.has(id)) delta.remove.push(id); });
    return delta;
  }

  function hostElements(data, host) {
    const mine = (d) => d.host === host || (d.kind === "lan" && data.edges.some((e) => e.data.source === d.id && e.data.host === host));
    return { nodes: data.nodes.filter((n) => mine(n.data)), edges: data.edges.filter((e) => e.data.host === host) };
  }

  const query = box.dataset.query;
  async function fetchGraph(extra) {
    const q = [query, extra].filter(Boolean).join("&");
    const resp = await fetch(`${box.dataset.api}${q ? "?" + q : ""}`, { credentials: "same-origin" });
    if (!resp.ok) throw new Error(`${resp.status} ${resp.statusText}`);
    return resp.json();
  }

  // Fetch one host's part again (its version did not match, or the user sees a filtered view).
  const refetching = new Set();
  async function refetch(host) {
    if (refetching.has(host)) return;
    refetching.add(host);
    try {
      const data = await fetchGraph(query ? "" : `host=${host}`);
      Object.entries(data.versions).forEach(([h, v]) => { T.versions[h] = v; });
      const d = deltaTo(host, hostElements(data, host));
      d.version = data.versions[host];
      applyDelta(host, d);
    } catch (err) { say(`could not refresh: ${err.message}`); } finally { refetching.delete(host); }
  }

  // The last events and what was done with them (for tests and benches that wonder why).
  T.trace = [];
  function trace(ev, action) {
    T.trace.push({ host: ev.host, version: ev.version, base: ev.base, action });
    if (T.trace.length > 50) T.trace.shift();
  }

  function onDelta(ev) {
    T.lastEvent = { host: ev.host, version: ev.version, base: ev.base, refetch: !!ev.refetch };
    if (!ready) { pending.push(ev); trace(ev, "queued"); return; }
    const have = T.versions[ev.host];
    if (have !== undefined && ev.version <= have) { trace(ev, `old (have ${have})`); return; }
    if (ev.refetch || query || have !== ev.base) { trace(ev, `refetch (have ${have})`); refetch(ev.host); return; }
    trace(ev, "applied");
    T.versions[ev.host] = ev.version;
    applyDelta(ev.host, ev);
    T.deltasApplied = (T.deltasApplied || 0) + 1;
  }

  // -- groups, offline hosts, search, paths, rates ----------------------------------------------
  function refreshGroups() {
    cy.nodes("[kind='vmgroup']").forEach((g) => {
      const open = expanded.has(g.id());
      g.data("label", `${g.data("count")} VMs on ${cy.getElementById(g.data("anchor")).data("label") || "?"} ${open ? "▾" : "▸"}`);
    });
    cy.nodes("[group]").forEach((n) => {
      const g = n.data("group");
      const hide = g && cy.getElementById(g).nonempty() && !expanded.has(g);
      if (hide) n.addClass("member-hidden"); else n.removeClass("member-hidden");
    });
  }

  function toggleGroup(g) {
    if (expanded.has(g.id())) { expanded.delete(g.id()); refreshGroups(); return; }
    expanded.add(g.id());
    const members = cy.nodes().filter((n) => n.data("group") === g.id() && !n.scratch("_placed"));
    if (members.nonempty()) {
      const nodes = members.map((n) => n.data()).map((d) => ({ ...d, group: null }));
      const pos = {}, p = g.position(), bb = g.parent().children(":visible").boundingBox();
      layoutHost(nodes, cy.edges().map((e) => e.data()), Math.round(p.x / DX), Math.round(bb.y2 / DY) - 4, pos);
      cy.batch(() => members.forEach((n) => { if (pos[n.id()]) { n.position(pos[n.id()]); n.scratch("_placed", true); } }));
    }
    refreshGroups();
  }

  function staleHosts() {
    cy.nodes("[kind='host']").forEach((h) => {
      if (h.data("offline")) h.descendants().addClass("stale"); else h.descendants().removeClass("stale");
    });
  }

  function say(text) { if (statusEl) statusEl.textContent = text; }

  const search = document.getElementById("topo-search");
  if (search) search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    cy.nodes().removeClass("match");
    if (q.length < 2) return;
    const hits = cy.nodes().filter((n) => {
      const d = n.data();
      return [d.label, d.name, d.mac, ...(d.ips || []), ...(d.addresses || [])].some((v) => v && String(v).toLowerCase().includes(q));
    });
    hits.forEach((n) => { if (n.hasClass("member-hidden")) toggleGroup(cy.getElementById(n.data("group"))); });
    hits.addClass("match");
    say(`${hits.length} found`);
    if (hits.nonempty()) cy.fit(hits, 80);
  });

  const pathBtn = document.getElementById("topo-path");
  if (pathBtn) pathBtn.addEventListener("click", () => {
    pathMode = !pathMode; pathEnds = [];
    cy.elements().removeClass("path path-end");
    pathBtn.classList.toggle("active", pathMode);
    say(pathMode ? "click two VM NICs (the small circles)" : "");
  });

  async function showPath() {
    const [a, b] = pathEnds;
    const resp = await fetch(`${box.dataset.pathApi}?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`, { credentials: "same-origin" });
    const data = resp.ok ? await resp.json() : { path: [] };
    data.path.forEach((id) => cy.getElementById(id).addClass("path"));
    say(data.path.length ? `path: ${(data.path.length + 1) / 2} nodes` : "no path between these NICs");
    T.lastPath = data.path;
  }

  cy.on("tap", "node", (evt) => {
    const n = evt.target, d = n.data();
    if (d.kind === "vmgroup") { toggleGroup(n); return; }
    if (T.picking && T.picking(n)) return;  // another tool's pick (topology-reach.js)
    if (pathMode) {
      if (d.kind !== "nic") { say("pick a VM NIC (small circle under a vnet)"); return; }
      if (pathEnds.length === 2) { pathEnds = []; cy.elements().removeClass("path path-end"); }
      pathEnds.push(d.id); n.addClass("path-end");
      if (pathEnds.length === 2) showPath();
      return;
    }
    if (d.href) window.location.href = d.href;
  });

  function fmtRate(bps) {
    const units = ["B/s", "kB/s", "MB/s", "GB/s"];
    let i = 0;
    while (bps >= 1000 && i < units.length - 1) { bps /= 1000; i += 1; }
    return `${bps.toFixed(bps < 10 && i ? 1 : 0)} ${units[i]}`;
  }

  // host|ifname -> the edges whose traffic that interface's counters measure
  let edgeIndex = null;
  function edgesOf(host, ifname) {
    if (!edgeIndex) {
      edgeIndex = new Map();
      cy.edges("[iface]").forEach((e) => {
        const k = `${e.data("host")}|${e.data("iface")}`;
        (edgeIndex.get(k) || edgeIndex.set(k, []).get(k)).push(e);
      });
    }
    return edgeIndex.get(`${host}|${ifname}`) || [];
  }

  function onRates(ev) {
    cy.batch(() => Object.entries(ev.rates || {}).forEach(([ifname, [rx, tx]]) => {
      edgesOf(Number(ev.host), ifname).forEach((e) => {
        const total = (rx || 0) + (tx || 0);
        if (total <= 0) { e.removeClass("busy"); return; }
        e.data({ rate: total, rateLabel: fmtRate(total), w: Math.min(12, 1.5 + Math.log10(1 + total) * 1.2) });
        e.addClass("busy");
      });
    }));
    T.lastRates = { host: ev.host, t: performance.now() };
  }

  function onHostStatus(ev) {
    const h = cy.getElementById(`host:${ev.host}`);
    if (h.empty()) return;
    h.data({ state: ev.status, offline: ev.status !== "online" });
    staleHosts();
  }

  // -- websocket: follow each shown host's topology and rates ------------------------------------
  const follow = (box.dataset.follow || "").split(/\s+/).filter(Boolean).map(Number);
  let ready = false, firstConnect = true;
  const pending = [];
  const handlers = { "topology.delta": onDelta, "host.rates": onRates, "host.status": onHostStatus };
  function connect(delay) {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/live/`);
    ws.onopen = () => {
      T.trace.push({ action: firstConnect ? "connected" : "reconnected" });
      follow.forEach((h) => { ws.send(JSON.stringify({ follow: `host.${h}` })); ws.send(JSON.stringify({ follow: `rates.${h}` })); });
      if (!firstConnect) follow.forEach((h) => refetch(h));   // events may have been missed
      firstConnect = false;
      delay = 1000;
    };
    ws.onmessage = (msg) => { const ev = JSON.parse(msg.data); const h = handlers[ev.type]; if (h) h(ev); };
    ws.onclose = () => setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  }

  // -- first paint -------------------------------------------------------------------------------
  function drawAll(data) {
    const t0 = performance.now();
    const nodes = data.nodes.map((n) => n.data), edges = data.edges.map((e) => e.data);
    const pos = layoutAll(nodes, edges);
    const t1 = performance.now();
    parts.clear();
    cy.batch(() => {
      cy.elements().remove();
      // Members of a closed group wait (hidden) where their group is until it is opened.
      const at = (d) => pos[d.id] || pos[d.group] || { x: 0, y: 0 };
      // Hidden from the start (styled once): members of groups that are not open.
      const closed = (d) => d.group && pos[d.group] && !expanded.has(d.group) ? "member-hidden" : "";
      cy.add(data.nodes.map((n) => ({ group: "nodes", data: n.data, position: at(n.data), classes: closed(n.data) })));
      cy.add(data.edges.map((e) => ({ group: "edges", data: e.data })));
      cy.nodes().forEach((n) => { if (pos[n.id()]) n.scratch("_placed", true); });
      data.nodes.forEach((n) => { if (n.data.host !== null) own(n.data.host, n.data.id); });
      data.edges.forEach((e) => { own(e.data.host, e.data.id); if (e.data.kind === "lan") own(e.data.host, e.data.source); });
      refreshGroups();
      staleHosts();
    });
    edgeIndex = null;
    cy.fit(cy.elements(":visible"), 30);
    T.drawn = { layoutMs: t1 - t0, addMs: performance.now() - t1 };
  }
  T.applyDelta = applyDelta;
  T.redrawAll = drawAll;   // the bench's baseline: throw everything away, lay it all out again

  connect(1000);
  const asked = performance.now();
  fetchGraph("").then((data) => {
    T.fetchMs = performance.now() - asked;
    Object.entries(data.versions).forEach(([h, v]) => { T.versions[h] = v; });
    drawAll(data);
    ready = true;
    // ms since the navigation started: fetch, layout and the first frame drawn
    cy.one("render", () => { T.firstPaint = performance.now(); });
    cy.forceRender();
    pending.splice(0).forEach(onDelta);
    say(`${cy.nodes("[kind='vm']").length} VMs on ${cy.nodes("[kind='host']").length} hosts`);
    T.loaded = true;
  }).catch((err) => say(`could not load the topology: ${err.message}`));

  // Filters: one at a time (host, network or VM); choosing one clears the others.
  const form = document.getElementById("topo-filter");
  if (form) form.querySelectorAll("select").forEach((sel) => sel.addEventListener("change", () => {
    form.querySelectorAll("select").forEach((other) => { if (other !== sel) other.disabled = true; });
    if (!sel.value) sel.disabled = true;
    form.submit();
  }));
  const fitBtn = document.getElementById("topo-fit");
  if (fitBtn) fitBtn.addEventListener("click", () => cy.fit(cy.elements(":visible"), 30));
})();
