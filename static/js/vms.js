// VM pages: repeatable NIC rows on the create form (Django formset with prefix "nics"), and
// the warnings of the NIC being chosen (macvtap blind spot, NAT isolation, …) shown under it
// while the user chooses, before Create / Apply.
(function () {
  "use strict";
  const button = document.getElementById("add-nic-row");
  const rows = document.getElementById("nic-rows");
  const template = document.getElementById("nic-row-template");
  const total = document.getElementById("id_nics-TOTAL_FORMS");
  if (button && rows && template && total) {
    button.addEventListener("click", () => {
      const index = parseInt(total.value, 10);
      const html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
    });
  }

  // [data-nic-warnings=URL] holds one NIC's fields, or .nic-row elements each holding one.
  // URL (/vms/nic-warnings/?host=…[&vm=…&mac=…]) answers {"warnings": [...]} for a type and
  // a source (vms.views.nic_warnings_view, the words the Create answer and the API carry).
  function field(group, name) {
    return group.querySelector(`[name$="${name}"]:not([type=hidden])`);
  }

  function box(group) {
    let el = group.querySelector(":scope > .nic-warnings");
    if (!el) {
      el = document.createElement("div");
      el.className = "col-12 nic-warnings";
      el.setAttribute("aria-live", "polite");
      group.appendChild(el);
    }
    return el;
  }

  function check(root, group) {
    const type = field(group, "type"), source = field(group, "source");
    if (!type || !source) return;
    const asked = `${type.value}\n${source.value.trim()}`;
    if (group.dataset.nicAsked === asked) return;
    group.dataset.nicAsked = asked;
    const url = new URL(root.dataset.nicWarnings, window.location.href);
    url.searchParams.set("type", type.value);
    url.searchParams.set("source", source.value.trim());
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : { warnings: [] }))
      .then((body) => {
        if (group.dataset.nicAsked !== asked) return; // a later choice answered first
        const el = box(group);
        el.replaceChildren(...body.warnings.map((text) => {
          const item = document.createElement("div");
          item.className = "alert alert-warning small py-1 px-2 mb-1";
          item.dataset.nicWarning = "";
          item.textContent = text;
          return item;
        }));
      });
  }

  document.querySelectorAll("[data-nic-warnings]").forEach((root) => {
    const groups = () => (root.querySelector(".nic-row") ? [...root.querySelectorAll(".nic-row")] : [root]);
    let timer = null;
    const later = (group) => { clearTimeout(timer); timer = setTimeout(() => check(root, group), 250); };
    root.addEventListener("change", (ev) => check(root, ev.target.closest(".nic-row") || root));
    root.addEventListener("input", (ev) => later(ev.target.closest(".nic-row") || root));
    groups().forEach((group) => { if (field(group, "source") && field(group, "source").value.trim()) check(root, group); });
  });
})();
