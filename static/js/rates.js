// Live rx/tx traffic graphs (uPlot). Each <div data-rates-graph data-host=PK data-iface=NAME>
// starts with the history the API kept (/api/hosts/PK/rates/?iface=NAME) and then moves with
// the once-a-second `host.rates` messages of the websocket group rates.PK (live.js).
// data-view="guest" shows a VM NIC as the guest sees it: what the host's tap device sends
// (tx) is what the guest receives (rx). A <select data-rates-select="GRAPH-ID"> picks the
// interface of a graph. Each graph records its last values in data-last-rx / data-last-tx.
(function () {
  "use strict";
  const WINDOW = 300; // seconds on screen
  const graphs = [];

  function human(v) {
    if (v == null) return "–";
    const units = ["B/s", "KB/s", "MB/s", "GB/s"];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
  }

  function oriented(graph, rx, tx) {
    return graph.el.dataset.view === "guest" ? [tx, rx] : [rx, tx];
  }

  function push(graph, t, rx, tx) {
    const data = graph.data;
    if (data[0].length && t <= data[0][data[0].length - 1]) return;
    const [r, s] = oriented(graph, rx, tx);
    data[0].push(t); data[1].push(r); data[2].push(s);
    while (data[0].length && data[0][0] < t - WINDOW) { data[0].shift(); data[1].shift(); data[2].shift(); }
    graph.el.dataset.lastRx = r;
    graph.el.dataset.lastTx = s;
    graph.el.dataset.points = data[0].length;
  }

  function load(graph) {
    const { host, iface } = graph.el.dataset;
    graph.data = [[], [], []];
    graph.plot.setData(graph.data);
    fetch(`/api/hosts/${host}/rates/?iface=${encodeURIComponent(iface)}`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : { points: [] }))
      .then((body) => {
        const live = graph.data;
        graph.data = [[], [], []];
        body.points.forEach(([t, rx, tx]) => push(graph, t, rx, tx));
        for (let i = 0; i < live[0].length; i++) {
          const [rx, tx] = oriented(graph, live[1][i], live[2][i]);
          push(graph, live[0][i], rx, tx);
        }
        graph.plot.setData(graph.data);
      });
  }

  function setup(el) {
    const width = Math.max(300, el.clientWidth || el.parentElement.clientWidth || 600);
    const opts = {
      width, height: 170,
      scales: { x: { time: true } },
      series: [{}, { label: "rx", stroke: "#0d6efd", width: 1.5, value: (u, v) => human(v) },
        { label: "tx", stroke: "#dc3545", width: 1.5, value: (u, v) => human(v) }],
      axes: [{}, { size: 70, values: (u, vals) => vals.map(human) }],
    };
    const graph = { el, data: [[], [], []] };
    graph.plot = new uPlot(opts, graph.data, el);
    graphs.push(graph);
    load(graph);
    return graph;
  }

  document.querySelectorAll("[data-rates-graph]").forEach(setup);
  document.querySelectorAll("[data-rates-select]").forEach((select) => {
    const graph = graphs.find((g) => g.el.id === select.dataset.ratesSelect);
    if (!graph) return;
    select.addEventListener("change", () => { graph.el.dataset.iface = select.value; load(graph); });
  });

  window.kvmwebLive.on("host.rates", (ev) => {
    graphs.forEach((graph) => {
      if (String(ev.host) !== graph.el.dataset.host) return;
      const rate = ev.rates[graph.el.dataset.iface];
      if (!rate) return;
      push(graph, ev.t, rate[0], rate[1]);
      graph.plot.setData(graph.data);
    });
  });
  window.addEventListener("resize", () => graphs.forEach((g) => g.plot.setSize({
    width: Math.max(300, g.el.parentElement.clientWidth), height: 170 })));
})();
