// Where the topology's nodes go (static/js/topology.js): a deterministic grid, one cell DX x DY.
// Inside each host box, rows by tier (uplinks, bonds, VLANs, networks, bridges, taps, NICs, VMs),
// VMs as columns (tap over NIC over VM); LAN nodes above the hosts. New nodes go into a free cell
// next to a placed neighbour, so nothing already drawn moves. `used` holds the taken cells.
window.kvmwebTopologyGrid = function (cy) {
  "use strict";
  const DX = 96, DY = 64;
  const used = new Map();                      // "col,row" -> node id (grid occupancy)

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
    nodes.forEach((d) => { if (d.host != null && d.kind !== "host") (byHost.get(d.host) || byHost.set(d.host, []).get(d.host)).push(d); });
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
      const host = d.host != null ? cy.getElementById(`host:${d.host}`) : null;
      const bb = host && host.nonempty() && host.children().nonempty() ? host.children().boundingBox() : cy.elements().boundingBox();
      col = Math.round((bb.x1 || 0) / DX); row = Math.round((bb.y2 || 0) / DY) + 1;
    }
    node.position(place(d.id, freeCol(col, row), row));
    node.scratch("_placed", true);
  }
  // Place the nodes (just added to Cytoscape) that have no position yet, upper tiers first.
  function placeFresh(nodes) {
    nodes.filter((n) => !n.scratch("_placed") && n.data("kind") !== "host")
      .sort((a, b) => tier(a.data()) - tier(b.data())).forEach(placeNew);
  }
  function freeCell(p) {
    const k = `${Math.round(p.x / DX)},${Math.round(p.y / DY)}`;
    used.delete(k);
  }

  return { DX, DY, tier, layoutHost, layoutAll, placeFresh, freeCell };
};
