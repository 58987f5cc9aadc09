// Keep the open tab across the live reloads of a page: remember it in the URL's #hash.
(function () {
  "use strict";
  const buttons = document.querySelectorAll('[data-bs-toggle="tab"]');
  if (!buttons.length || !window.bootstrap) return;
  const wanted = window.location.hash;
  buttons.forEach((button) => {
    if (wanted && button.dataset.bsTarget === wanted) bootstrap.Tab.getOrCreateInstance(button).show();
    button.addEventListener("shown.bs.tab", () => history.replaceState(null, "", button.dataset.bsTarget));
  });
})();
