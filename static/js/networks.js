// Network form: show only the fields the chosen kind uses (fields carry data-kinds="nat route …").
(function () {
  "use strict";
  const kind = document.getElementById("id_kind");
  if (!kind) return;
  function update() {
    document.querySelectorAll("#network-form [data-kinds]").forEach((input) => {
      const box = input.closest("[data-field]");
      if (!box) return;
      const show = input.dataset.kinds.split(/\s+/).includes(kind.value);
      box.hidden = !show;
    });
  }
  kind.addEventListener("change", update);
  update();
})();
