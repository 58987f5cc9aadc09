// VM pages: repeatable NIC rows on the create form (Django formset with prefix "nics").
(function () {
  "use strict";
  const button = document.getElementById("add-nic-row");
  const rows = document.getElementById("nic-rows");
  const template = document.getElementById("nic-row-template");
  const total = document.getElementById("id_nics-TOTAL_FORMS");
  if (!button || !rows || !template || !total) return;
  button.addEventListener("click", () => {
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
  });
})();
