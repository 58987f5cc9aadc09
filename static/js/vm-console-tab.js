// The VM page's Console tab: load the console page into the frame only when the tab is shown
// (a console is a session on the host, not something to open for every page view), and list
// the recent console sessions from the API.
(function () {
  "use strict";
  const frame = document.getElementById("console-frame");
  const tab = document.getElementById("console-tab");
  if (!frame || !tab) return;
  const buttons = document.querySelectorAll("[data-console-src]");
  const table = document.getElementById("console-sessions");

  function seconds(s) {
    if (s < 90) return `${Math.round(s)} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }

  async function listSessions() {
    const response = await fetch(table.dataset.api, { credentials: "same-origin" });
    if (!response.ok) return;
    const rows = (await response.json()).results || [];
    const body = table.querySelector("tbody");
    body.replaceChildren(...rows.map((s) => {
      const tr = document.createElement("tr");
      const cells = [s.username, s.kind, s.client, s.started.replace("T", " ").slice(0, 19),
                     seconds(s.duration) + (s.ended ? "" : " (open)"), s.close_reason];
      cells.forEach((text) => { const td = document.createElement("td"); td.textContent = text; tr.append(td); });
      return tr;
    }));
  }

  function show(button) {
    buttons.forEach((b) => b.classList.toggle("active", b === button));
    if (frame.getAttribute("src") !== button.dataset.consoleSrc) frame.setAttribute("src", button.dataset.consoleSrc);
    setTimeout(listSessions, 1500);
  }
  buttons.forEach((button) => button.addEventListener("click", () => show(button)));
  tab.addEventListener("shown.bs.tab", () => { if (!frame.getAttribute("src")) show(buttons[0]); else listSessions(); });
  if (tab.classList.contains("active")) show(buttons[0]);
})();
