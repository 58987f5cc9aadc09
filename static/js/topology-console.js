// Topology: right-click (or long-press) a VM node for its details and console links. A click
// still opens the VM's page (topology.js); the console pages check the right to operate it.
(function () {
  "use strict";
  const T = window.kvmwebTopology;
  if (!T || !T.cy) return;
  const box = document.createElement("div");
  box.id = "topo-vm-details";
  box.className = "card shadow-sm small position-absolute d-none";
  box.style.zIndex = 10;
  box.style.minWidth = "12rem";
  document.getElementById("topology").parentElement.style.position = "relative";
  document.getElementById("topology").after(box);

  function link(text, href, attrs) {
    const a = document.createElement("a");
    a.textContent = text;
    a.href = href;
    a.className = "d-block";
    Object.assign(a, attrs || {});
    return a;
  }

  T.cy.on("cxttap taphold", "node[kind='vm']", (evt) => {
    const d = evt.target.data();
    const body = document.createElement("div");
    body.className = "card-body p-2";
    const title = document.createElement("div");
    title.className = "fw-semibold";
    title.textContent = `${d.label} (${d.state})`;
    body.append(title, link("VM page", `/vms/${d.pk}/`),
                link("Console", `/vms/${d.pk}/#console`),
                link("Serial console in a new window", `/consoles/vm/${d.pk}/serial/`, { target: "_blank" }));
    box.replaceChildren(body);
    const p = evt.renderedPosition || evt.target.renderedPosition();
    box.style.left = `${p.x + 12}px`;
    box.style.top = `${p.y + 12}px`;
    box.classList.remove("d-none");
  });
  T.cy.on("tap viewport", () => box.classList.add("d-none"));
})();
