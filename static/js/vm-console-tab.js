// The VM page's Console tab: load the console page into the frame only when the tab is shown
// (a console is a session on the host, not something to open for every page view).
(function () {
  "use strict";
  const frame = document.getElementById("console-frame");
  const tab = document.getElementById("console-tab");
  if (!frame || !tab) return;
  const buttons = document.querySelectorAll("[data-console-src]");
  function show(button) {
    buttons.forEach((b) => b.classList.toggle("active", b === button));
    if (frame.getAttribute("src") !== button.dataset.consoleSrc) frame.setAttribute("src", button.dataset.consoleSrc);
  }
  buttons.forEach((button) => button.addEventListener("click", () => show(button)));
  tab.addEventListener("shown.bs.tab", () => { if (!frame.getAttribute("src")) show(buttons[0]); });
  if (tab.classList.contains("active")) show(buttons[0]);
})();
