// The topology page: Cytoscape.js draws /api/topology/ and applies the deltas pushed on
// /ws/live/ (topology.delta on host.<pk>) and the traffic rates (host.rates on rates.<pk>),
// received through the page's shared websocket (live.js, window.kvmwebLive).
// Positions come from a deterministic grid layout (topology-layout.js); updates never re-lay out
// what is already placed (new nodes go next to a placed neighbour), so the picture does not jump.
// The members of a closed group of VMs (each VM, its NICs, their taps, and the edges touching
// them) are not in Cytoscape: they wait in `held`, where deltas update them, search finds them
// and paths reach them; opening the group adds them (laid out once, positions kept after).
(function () {
  "use strict";
  const box = document.getElementById("topology");
  if (!box || typeof cytoscape === "undefined") return;
  const statusEl = document.getElementById("topo-status");
  const T = window.kvmwebTopology = { versions: {}, lastApplied: null, firstPaint: null,
    openAtMost: 3 };                           // closed groups a search opens at once
  const parts = new Map();                     // host pk -> Set of element ids it contributes
  const expanded = new Set();                  // group ids the user opened
  const held = new Map();                      // id -> {group: "nodes"|"edges", data, position}
  const heldIn = new Map();                    // group id -> Set of its held member node ids
  const heldAt = new Map();                    // node id -> Set of held edge ids touching it
  const offline = new Set();                   // host pks drawn offline (their nodes "stale")
  const LOCAL = new Set(["rate", "rateLabel", "w", "shown"]);  // data this page adds
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
    { selector: "node[kind='vmgroup'][shown]", style: { label: "data(shown)" } },
    { selector: "node[state='down']", style: { "border-color": "#dc3545", "border-width": 4, "background-color": "#f8d7da" } },
    { selector: "node[state='nocarrier']", style: { "border-color": "#fd7e14", "border-width": 4 } },
    { selector: "node[state='inactive']", style: { "border-style": "dashed", opacity: 0.6 } },
    { selector: "node.stale", style: { opacity: 0.45 } },
    // Plain edges are haystacks (the cheapest to draw); labelled or arrowed ones are straight.
    { selector: "edge", style: { width: 1.5, "line-color": "#868e96", "curve-style": "haystack", "haystack-radius": 0 } },
    { selector: "edge[kind='forward'], edge.busy", style: { "curve-style": "straight", "font-size": 8,
      "text-background-color": "#fff", "text-background-opacity": 0.8 } },
    { selector: "edge[kind='forward']", style: { "line-style": "dashed", "line-color": "#0d6efd", label: "data(mode)",
      "target-arrow-shape": "triangle", "target-arrow-color": "#0d6efd" } },
    { selector: "edge[kind='lan']", style: { width: 3, "line-color": "#997404" } },
    { selector: "edge[kind='source'], edge[kind='group']", style: { "line-style": "dotted" } },
    { selector: "edge[kind='uses']", style: { width: 3, "line-color": "#198754" } },
    { selector: "edge.busy", style: { width: "data(w)", label: "data(rateLabel)", "line-color": "#20c997" } },
    { selector: ".match", style: { "border-color": "#d63384", "border-width": 5 } },
    { selector: ".path", style: { "line-color": "#d63384", "border-color": "#d63384", "border-width": 4,
      width: 5, "z-index": 99 } },
    { selector: ".path-end", style: { "background-color": "#d63384" } },
  ];
  const cy = T.cy = cytoscape({ container: box, style, layout: { name: "preset" },
    hideEdgesOnViewport: true, textureOnViewport: true, pixelRatio: box.dataset.big ? 1 : "auto",
    minZoom: 0.02, maxZoom: 3 });

  const { DX, DY, tier, layoutHost, layoutAll, placeFresh, freeCell } = window.kvmwebTopologyGrid(cy);

  // -- elements outside Cytoscape (members of closed groups) -------------------------------------
  function index(map, key, id) { (map.get(key) || map.set(key, new Set()).get(key)).add(id); }
  function unindex(map, key, id) {
    const ids = map.get(key);
    if (ids) { ids.delete(id); if (!ids.size) map.delete(key); }
  }
  function hold(group, data, position) {
    held.set(data.id, { group, data, position });
    if (group === "edges") { index(heldAt, data.source, data.id); index(heldAt, data.target, data.id); }
    else if (data.group) index(heldIn, data.group, data.id);
  }
  function unhold(id) {
    const h = held.get(id);
    if (!h) return null;
    held.delete(id);
    if (h.group === "edges") { unindex(heldAt, h.data.source, id); unindex(heldAt, h.data.target, id); }
    else if (h.data.group) unindex(heldIn, h.data.group, id);
    return h;
  }
  const inCy = (id) => cy.getElementById(id).nonempty();
  // A node waits outside Cytoscape while its group is drawn closed.
  const closed = (d) => !!d.group && !expanded.has(d.group) && inCy(d.group);
  function plain(data) {
    const out = {};
    Object.keys(data).forEach((k) => { if (!LOCAL.has(k)) out[k] = data[k]; });
    return out;
  }

  // Held nodes into Cytoscape (at their kept position, else pos[id], else placed later) with
  // the held edges whose ends are both drawn then. Returns the nodes added.
  function release(ids, pos) {
    const nodes = [];
    ids.forEach((id) => {
      const h = unhold(id);
      if (h) nodes.push({ group: "nodes", data: h.data, position: h.position || (pos && pos[id]) });
    });
    if (!nodes.length) return cy.collection();
    const added = cy.add(nodes.map((n) => ({ group: "nodes", data: n.data, position: n.position || { x: 0, y: 0 } })));
    nodes.forEach((n) => { if (n.position) cy.getElementById(n.data.id).scratch("_placed", true); });
    const edges = new Map();
    nodes.forEach((n) => (heldAt.get(n.data.id) || []).forEach((eid) => {
      const e = held.get(eid);
      if (e && inCy(e.data.source) && inCy(e.data.target)) edges.set(eid, e.data);
    }));
    edges.forEach((data, eid) => unhold(eid));
    cy.add([...edges.values()].map((data) => ({ group: "edges", data })));
    edgeIndex = null;
    return added;
  }

  // Nodes out of Cytoscape (their group closed), with every edge touching them; positions kept.
  function stash(nodes) {
    if (nodes.empty()) return;
    nodes.connectedEdges().forEach((e) => hold("edges", plain(e.data())));
    nodes.forEach((n) => hold("nodes", plain(n.data()), { ...n.position() }));
    cy.remove(nodes);
    edgeIndex = null;
  }

  function openGroup(gid) {
    const g = cy.getElementById(gid);
    if (g.empty() || expanded.has(gid)) return;
    expanded.add(gid);
    const ids = [...(heldIn.get(gid) || [])];
    const unplaced = ids.map((id) => held.get(id)).filter((h) => !h.position);
    const pos = {};
    if (unplaced.length) {
      const members = new Set(ids), edges = [];
      ids.forEach((id) => (heldAt.get(id) || []).forEach((eid) => {
        const e = held.get(eid).data;
        if (members.has(e.source) && members.has(e.target)) edges.push(e);
      }));
      const p = g.position(), bb = g.parent().children().boundingBox();
      layoutHost(unplaced.map((h) => ({ ...h.data, group: null })), edges,
        Math.round(p.x / DX), Math.round(bb.y2 / DY) - 4, pos);
    }
    cy.batch(() => {
      const added = release(ids, pos);
      placeFresh(added);
      markStale(added);
      refreshGroups();
    });
  }

  function closeGroup(gid) {
    expanded.delete(gid);
    cy.batch(() => { stash(cy.nodes().filter((n) => n.data("group") === gid)); refreshGroups(); });
  }

  function toggleGroup(g) { if (expanded.has(g.id())) closeGroup(g.id()); else openGroup(g.id()); }

  // Open the groups holding any of these elements (a path or a search found them).
  function reveal(ids) {
    const open = new Set();
    const groupOf = (id) => { const h = held.get(id); if (h && h.group === "nodes" && h.data.group) open.add(h.data.group); };
    ids.forEach((id) => {
      const h = held.get(id);
      if (!h) return;
      if (h.group === "nodes") groupOf(id); else { groupOf(h.data.source); groupOf(h.data.target); }
    });
    open.forEach(openGroup);
  }
  T.reveal = reveal;
  T.has = (id) => held.has(id) || inCy(id);
  T.held = held;
  T.openGroup = openGroup;

  // -- applying changes ------------------------------------------------------------------------
  function own(host, id) { (parts.get(host) || parts.set(host, new Set()).get(host)).add(id); }
  function ownedElsewhere(host, id) {
    for (const [h, ids] of parts) if (h !== host && ids.has(id)) return true;
    return false;
  }

  // Merge data into an element wherever it is (false: there is none); notes regrouped nodes.
  function update(id, data, regrouped) {
    const h = held.get(id);
    if (h) {
      if (h.group === "nodes" && "group" in data && (data.group || null) !== (h.data.group || null)) {
        if (h.data.group) unindex(heldIn, h.data.group, id);
        if (data.group) index(heldIn, data.group, id);
        regrouped.add(id);
      }
      h.data = { ...h.data, ...data };
      return true;
    }
    const el = cy.getElementById(id);
    if (el.empty()) return false;
    if (el.isNode() && "group" in data && (data.group || null) !== (el.data("group") || null)) regrouped.add(id);
    el.data(data);
    return true;
  }

  // Apply a delta {add_nodes, add_edges, remove, change} from one host; positions kept.
  function applyDelta(host, delta) {
    const started = performance.now(), regrouped = new Set();
    let fresh = cy.collection();
    cy.batch(() => {
      delta.remove.forEach((id) => {
        const ids = parts.get(host);
        if (ids) ids.delete(id);
        if (ownedElsewhere(host, id)) return;
        const h = unhold(id);
        if (h) { if (h.position) freeCell(h.position); return; }
        const el = cy.getElementById(id);
        if (el.empty()) return;
        if (el.isNode()) {
          freeCell(el.position());
          // A group that goes: its held members stand alone now.
          (heldIn.get(id) || []).forEach((m) => regrouped.add(m));
        }
        el.remove();
      });
      // Hosts first, then groups (their members wait outside), then by tier.
      const rank = (d) => (d.kind === "host" ? 0 : d.kind === "vmgroup" ? 1 : 2 + tier(d));
      delta.add_nodes.slice().sort((a, b) => rank(a.data) - rank(b.data)).forEach((n) => {
        own(host, n.data.id);
        if (update(n.data.id, n.data, regrouped)) return;
        if (closed(n.data)) hold("nodes", n.data);
        else fresh = fresh.union(cy.add({ group: "nodes", data: n.data }));
      });
      delta.add_edges.forEach((e) => {
        own(host, e.data.id);
        if (update(e.data.id, e.data, regrouped)) return;
        if (inCy(e.data.source) && inCy(e.data.target)) cy.add({ group: "edges", data: e.data });
        else hold("edges", e.data);
      });
      delta.change.forEach((c) => update(c.id, c.data, regrouped));
      // Nodes whose group opened or closed (a group appeared, or went): move them.
      const out = [];
      let back = cy.collection();
      regrouped.forEach((id) => {
        const h = held.get(id);
        if (h) { if (!closed(h.data)) out.push(id); return; }
        const n = cy.getElementById(id);
        if (n.nonempty() && closed(n.data())) back = back.union(n);
      });
      stash(back);
      fresh = fresh.union(release(out));
      placeFresh(fresh);
      refreshGroups();
      staleHosts();
      markStale(fresh);
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

  // What a refetched part (compact: empty keys left out) means for what is shown: a delta.
  const empty = (v) => v === undefined || v === null || v === false || v === "" || (Array.isArray(v) && !v.length);
  function same(cur, next) {
    for (const k of new Set([...Object.keys(cur), ...Object.keys(next)])) {
      if (LOCAL.has(k) || (empty(cur[k]) && empty(next[k]))) continue;
      if (JSON.stringify(cur[k]) !== JSON.stringify(next[k])) return false;
    }
    return true;
  }
  function deltaTo(host, elements) {
    const have = parts.get(host) || new Set(), want = new Set();
    const delta = { add_nodes: [], add_edges: [], remove: [], change: [] };
    const visit = (group, list) => list.forEach((el) => {
      const id = el.data.id;
      want.add(id);
      const h = held.get(id), c = h ? null : cy.getElementById(id);
      const cur = h ? h.data : (c.nonempty() ? c.data() : null);
      if (!cur) { delta[group].push(el); return; }
      if (same(cur, el.data)) { own(host, id); return; }
      const data = {};
      Object.keys(cur).forEach((k) => { if (!LOCAL.has(k) && !(k in el.data)) data[k] = null; });
      delta.change.push({ id, data: Object.assign(data, el.data) });
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
      const anchor = cy.getElementById(g.data("anchor"));
      const shown = `${g.data("count")} VMs on ${anchor.nonempty() ? anchor.data("label") : "?"} ${expanded.has(g.id()) ? "▾" : "▸"}`;
      if (g.data("shown") !== shown) g.data("shown", shown);
    });
  }

  // Nodes of offline hosts are drawn faded: set when a host goes offline or back, and on the
  // nodes added while it is.
  function staleHosts() {
    cy.nodes("[kind='host']").forEach((h) => {
      const pk = h.data("host"), off = !!h.data("offline");
      if (off === offline.has(pk)) return;
      if (off) { offline.add(pk); h.descendants().addClass("stale"); }
      else { offline.delete(pk); h.descendants().removeClass("stale"); }
    });
  }
  function markStale(nodes) {
    if (offline.size) nodes.filter((n) => offline.has(n.data("host")) && n.data("kind") !== "host").addClass("stale");
  }

  function say(text) { if (statusEl) statusEl.textContent = text; }

  const search = document.getElementById("topo-search");
  if (search) search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    cy.nodes().removeClass("match");
    if (q.length < 2) return;
    const matches = (d) => [d.label, d.name, d.mac, ...(d.ips || []), ...(d.addresses || [])]
      .some((v) => v && String(v).toLowerCase().includes(q));
    // Members of closed groups too: their groups open so they can be shown, unless they are in
    // many groups (a query like "vm" in a large fleet): then the groups are marked instead.
    const found = [], groups = new Set();
    held.forEach((h, id) => {
      if (h.group === "nodes" && matches(h.data)) { found.push(id); groups.add(h.data.group); }
    });
    let pointed = cy.collection();
    if (groups.size <= T.openAtMost) reveal(found);
    else groups.forEach((g) => { pointed = pointed.union(cy.getElementById(g)); });
    const hits = cy.nodes().filter((n) => matches(n.data())).union(pointed);
    hits.addClass("match");
    say(pointed.nonempty() ? `${hits.length - pointed.length + found.length} found, ${found.length} of them in ` +
      `${groups.size} closed group${groups.size > 1 ? "s" : ""} (marked): open one, or type more` : `${hits.length} found`);
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
    reveal(data.path);
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

  // -- live events: the page's shared websocket (live.js) follows each shown host -------------
  // (host.<pk> and rates.<pk>, named in <body data-live-groups>); after a reconnect events may
  // have been missed, so each host's part is fetched again.
  const follow = (box.dataset.follow || "").split(/\s+/).filter(Boolean).map(Number);
  let ready = false;
  const pending = [];
  const live = window.kvmwebLive;
  live.on("topology.delta", onDelta);
  live.on("host.rates", onRates);
  live.on("host.status", onHostStatus);
  live.on("live.connected", (ev) => {
    T.trace.push({ action: ev.again ? "reconnected" : "connected" });
    if (ev.again) follow.forEach((h) => refetch(h));
  });

  // -- first paint -------------------------------------------------------------------------------
  function drawAll(data) {
    const t0 = performance.now();
    const groups = new Set(data.nodes.filter((n) => n.data.kind === "vmgroup").map((n) => n.data.id));
    held.clear(); heldIn.clear(); heldAt.clear(); offline.clear();
    // Members of closed groups wait outside Cytoscape, with every edge touching them.
    const nodes = [], edges = [], waiting = new Set();
    data.nodes.forEach((n) => {
      const d = n.data;
      if (d.group && groups.has(d.group) && !expanded.has(d.group)) { waiting.add(d.id); hold("nodes", d); }
      else nodes.push(d);
    });
    data.edges.forEach((e) => {
      if (waiting.has(e.data.source) || waiting.has(e.data.target)) hold("edges", e.data);
      else edges.push(e.data);
    });
    const pos = layoutAll(nodes, edges);
    const t1 = performance.now();
    parts.clear();
    cy.batch(() => {
      cy.elements().remove();
      cy.add(nodes.map((d) => ({ group: "nodes", data: d, position: pos[d.id] || { x: 0, y: 0 } })));
      cy.add(edges.map((d) => ({ group: "edges", data: d })));
      const placed = cy.nodes().filter((n) => n.id() in pos);
      placed.scratch("_placed", true);
      placeFresh(cy.nodes().difference(placed));  // members of groups open before a redraw
      data.nodes.forEach((n) => { if (n.data.host != null) own(n.data.host, n.data.id); });
      data.edges.forEach((e) => { own(e.data.host, e.data.id); if (e.data.kind === "lan") own(e.data.host, e.data.source); });
      refreshGroups();
      staleHosts();
    });
    edgeIndex = null;
    cy.fit(undefined, 30);
    T.drawn = { layoutMs: t1 - t0, addMs: performance.now() - t1, shown: nodes.length + edges.length, held: held.size };
  }
  T.applyDelta = applyDelta;
  T.redrawAll = drawAll;   // the bench's baseline: throw everything away, lay it all out again

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
    let vms = cy.nodes("[kind='vm']").length;
    held.forEach((h) => { if (h.data.kind === "vm") vms += 1; });
    say(`${vms} VMs on ${cy.nodes("[kind='host']").length} hosts`);
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
