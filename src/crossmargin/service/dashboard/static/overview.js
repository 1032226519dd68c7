// Overview: draws the replayed prices with uPlot and applies each pushed overview document.
(function () {
  "use strict";
  const initial = JSON.parse(document.getElementById("overview-data").textContent);
  const money = (x) => x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const text = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  let chart = null;
  function series(doc) {
    const hist = doc.price_history || [];
    const t = hist.map((p) => Date.parse(p.time) / 1000);
    const btc = hist.map((p) => p.index_usd.BTC), eth = hist.map((p) => p.index_usd.ETH);
    const dvol = hist.map((p) => (p.dvol_pct ? p.dvol_pct.BTC : null));
    return [t, btc, eth, dvol];
  }
  function draw(doc) {
    const data = series(doc);
    if (chart) { chart.setData(data); return; }
    const el = document.getElementById("price-chart");
    chart = new uPlot({
      width: 600, height: 300,
      series: [{}, { label: "BTC", stroke: "#f7931a", scale: "btc" },
               { label: "ETH", stroke: "#627eea", scale: "eth" },
               { label: "BTC DVOL %", stroke: "#888", scale: "vol", dash: [4, 4] }],
      axes: [{}, { scale: "btc", label: "BTC USD" }, { scale: "eth", side: 1, label: "ETH USD" }],
    }, data, el);
  }
  let updates = 0;
  function apply(doc) {
    text("tick-time", doc.last_tick.time);
    for (const [asset, price] of Object.entries(doc.last_tick.index_usd)) text("index-" + asset, money(price));
    if (doc.last_tick.dvol_pct) text("dvol-BTC", doc.last_tick.dvol_pct.BTC.toFixed(2));
    text("market-version", doc.market_version);
    text("account-count", doc.account_count);
    text("total-im", money(doc.total_initial_margin_usd));
    text("total-mm", money(doc.total_maintenance_margin_usd));
    text("insurance-fund", money(doc.insurance_fund_usd));
    text("liquidation-count", doc.liquidations.count);
    for (const [state, count] of Object.entries(doc.accounts_by_health)) text("health-" + state, count);
    const table = document.getElementById("liquidations");
    while (table.rows.length > 1) table.deleteRow(1);
    for (const e of doc.liquidations.recent) {
      const row = table.insertRow();
      const link = document.createElement("a");
      link.href = "/dashboard/accounts/" + encodeURIComponent(e.account_id);
      link.textContent = e.account_id;
      row.insertCell().textContent = e.liquidation_id;
      row.insertCell().appendChild(link);
      row.insertCell().textContent = e.health_before;
      row.insertCell().textContent = e.health_after;
    }
    draw(doc);
  }
  draw(initial);
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws/overview");
  socket.onopen = () => text("live-status", "connected");
  socket.onclose = () => text("live-status", "disconnected");
  socket.onmessage = (message) => { updates += 1; text("update-count", updates); apply(JSON.parse(message.data)); };
})();
