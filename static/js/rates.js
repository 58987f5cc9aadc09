// Live rx/tx traffic graphs (uPlot). Each <div data-rates-graph data-host=PK data-iface=NAME>
// starts with the history the API kept (/api/hosts/PK/rates/?iface=NAME) and then moves with
// the once-a-second `host.rates` messages of the websocket group rates.PK (live.js).
// data-view="guest" shows a VM NIC as the guest sees it: what the host's tap device sends
// (tx) is what the guest receives (rx). A <select data-rates-select="GRAPH-ID"> picks the
// interface of a graph. Each graph records its last values in data-last-rx / data-last-tx.
(function () {
  "use strict";
  const WINDOW = 300; // seconds on screen
  const MIN_SPAN = 60; // seconds: the x axis never spans less (one sample has no span at all)
  const graphs = [];

  // uPlot widens a zero-wide time scale by whole years (one sample drew an axis "2027 …
  // 2029") and does not ask a range function then. So uPlot gets the samples with one empty
  // point (no values: a gap) MIN_SPAN seconds before the newest sample when they span less, or
  // two empty points (the last minute) without samples: the axis then shows that minute, in
  // times of day.
  function padded(data) {
    const xs = data[0];
    if (!xs.length) {
      const now = Date.now() / 1000;
      return [[now - MIN_SPAN, now], [null, null], [null, null]];
    }
    const end = xs[xs.length - 1];
    if (end - xs[0] >= MIN_SPAN) return data;
    return [[end - MIN_SPAN, ...xs], [null, ...data[1]], [null, ...data[2]]];
  }

  function draw(graph) {
    graph.plot.setData(padded(graph.data));
  }

  function human(v) {
    if (v == null) return "–";
    const units = ["B/s", "KB/s", "MB/s", "GB/s"];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
  }

  // x ticks as times of day, whole (uPlot's defaults mix ":35" with "9:07pm\n12/7/26")
  function clock(t) {
    const d = new Date(t * 1000);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
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
    draw(graph);
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
        draw(graph);
      });
  }

  function setup(el) {
    const graph = { el, data: [[], [], []] };
    const width = Math.max(300, el.clientWidth || el.parentElement.clientWidth || 600);
    const opts = {
      width, height: 170,
      scales: { x: { time: true } },
      series: [{}, { label: "rx", stroke: "#0d6efd", width: 1.5, value: (u, v) => human(v) },
        { label: "tx", stroke: "#dc3545", width: 1.5, value: (u, v) => human(v) }],
      axes: [{ values: (u, vals) => vals.map(clock) }, { size: 70, values: (u, vals) => vals.map(human) }],
    };
    graph.plot = new uPlot(opts, padded(graph.data), el);
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

  window.kvmwebRates = { graphs }; // for tests and the console: each graph's uPlot is .plot

  window.kvmwebLive.on("host.rates", (ev) => {
    graphs.forEach((graph) => {
      if (String(ev.host) !== graph.el.dataset.host) return;
      const rate = ev.rates[graph.el.dataset.iface];
      if (!rate) return;
      push(graph, ev.t, rate[0], rate[1]);
      draw(graph);
    });
  });
  window.addEventListener("resize", () => graphs.forEach((g) => g.plot.setSize({
    width: Math.max(300, g.el.parentElement.clientWidth), height: 170 })));
})();
