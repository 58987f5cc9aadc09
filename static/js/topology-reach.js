// "Can it reach…?" on the topology page: pick two nodes (a VM NIC, a VM or a host), ask
// /api/reachability/ and highlight the path it returns (graph ids) and the hops where a cause
// blocks it; the verdict and the first cause are said next to the button, with a link to the
// whole answer. Hooks into topology.js through window.kvmwebTopology (cy, picking).
(function () {
  "use strict";
  const T = window.kvmwebTopology;
  const btn = document.getElementById("topo-reach");
  const out = document.getElementById("topo-reach-answer");
  if (!T || !T.cy || !btn || !out) return;
  const cy = T.cy;
  const PICKABLE = ["nic", "vm", "host"];
  const BADGE = { reachable: "text-bg-success", "one-way": "text-bg-warning",
                  unreachable: "text-bg-danger", unknown: "text-bg-secondary" };
  let on = false, ends = [];
  cy.style().selector(".reach-blocked").style({ "background-color": "#dc3545", "border-color": "#dc3545",
    "border-width": 5, "line-color": "#dc3545" }).update();

  function clear() { cy.elements().removeClass("path path-end reach-blocked"); }
  function say(text) { out.replaceChildren(document.createTextNode(text)); }

  btn.addEventListener("click", () => {
    on = !on; ends = []; clear();
    btn.classList.toggle("active", on);
    say(on ? "click where from, then where to (a VM NIC, a VM or a host)" : "");
  });

  // topology.js asks this first on every tap: true means "mine, do not open the node's page".
  T.picking = (node) => {
    if (!on) return false;
    const d = node.data();
    if (!PICKABLE.includes(d.kind)) { say("pick a VM NIC, a VM or a host"); return true; }
    if (ends.length === 2) { ends = []; clear(); }
    ends.push(d.id); node.addClass("path-end");
    if (ends.length === 2) ask(); else say(`from ${d.label}: now click where to`);
    return true;
  };

  async function ask() {
    const query = new URLSearchParams({ source: ends[0], destination: ends[1] });
    const resp = await fetch(`${btn.dataset.api}?${query}`, { credentials: "same-origin",
                                                             headers: { Accept: "application/json" } });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) { say(data.detail || "no answer"); return; }
    T.reveal([...data.elements, ...data.causes.map((c) => c.hop).filter(Boolean)]);  // open groups
    data.elements.forEach((id) => cy.getElementById(id).addClass("path"));
    data.causes.forEach((c) => { if (c.hop) cy.getElementById(c.hop).addClass("reach-blocked"); });
    T.lastReach = data;
    const badge = document.createElement("span");
    badge.className = `badge ${BADGE[data.verdict] || "text-bg-secondary"}`;
    badge.id = "topo-reach-verdict";
    badge.textContent = data.verdict_label;
    const cause = document.createElement("span");
    cause.id = "topo-reach-cause";
    cause.textContent = data.causes.length ? ` ${data.causes[0].text} ` : " ";
    const more = document.createElement("a");
    more.href = `${btn.dataset.page}?${query}`;
    more.textContent = "why, and the fixes";
    out.replaceChildren(badge, cause, more);
  }
})();
