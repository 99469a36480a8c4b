import { consoleClient } from './client';

const STYLE = `
:root { --bg:#0f1420; --panel:#171e2e; --line:#27314a; --text:#e6ebf5; --muted:#8d98b3; --accent:#6ea8fe; --ok:#3ecf8e; --warn:#f5a524; --bad:#f2555a; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--text); }
header.top { display:flex; align-items:center; gap:14px; padding:14px 28px; background:#121a2a; border-bottom:1px solid var(--line); }
header.top h1 { font-size:18px; margin:0; letter-spacing:.3px; } header.top h1 span { color:var(--accent); }
.chip { padding:3px 10px; border-radius:999px; background:var(--line); color:var(--muted); font-size:12px; }
.chip.up { background:rgba(62,207,142,.15); color:var(--ok); } .chip.down { background:rgba(242,85,90,.15); color:var(--bad); }
#updated { color:var(--muted); font-size:12px; margin-left:auto; }
#token { background:var(--panel); border:1px solid var(--line); color:var(--text); border-radius:8px; padding:6px 10px; width:220px; }
main { padding:22px 28px 60px; display:grid; grid-template-columns: 1fr 1fr; gap:20px; max-width:1500px; margin:0 auto; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:14px; padding:16px 18px; min-width:0; }
.card.wide { grid-column: 1 / -1; }
.card h2 { font-size:15px; margin:0 0 12px; display:flex; gap:10px; align-items:baseline; } .card h2 small { color:var(--muted); font-weight:normal; }
svg { width:100%; height:auto; }
svg .col { fill:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:1px; }
svg .node rect { stroke-width:1.5; }
svg .service rect { fill:#1d2a44; stroke:#3b5b99; } svg .service.degraded rect { stroke:var(--warn); } svg .service.unreachable rect, svg .service.down rect { stroke:var(--bad); }
svg .service .dot { fill:var(--ok); } svg .service.degraded .dot { fill:var(--warn); } svg .service.unreachable .dot, svg .service.down .dot, svg .service.unknown .dot { fill:var(--bad); }
svg text { fill:var(--text); font-size:13px; } svg .title { font-weight:600; font-size:14px; } svg .sub { fill:var(--muted); font-size:11.5px; }
svg .topic rect { fill:#202a3f; stroke:#35425f; } svg .topic text { font-family: ui-monospace, Menlo, monospace; font-size:12px; }
svg .d-users rect { stroke:#4cc9f0; } svg .d-endpoints rect { stroke:#b388ff; } svg .d-templates rect { stroke:#ffd166; } svg .d-notifications rect { stroke:#3ecf8e; }
svg .usecase rect { fill:#1b2b28; stroke:#2f8f6a; } svg .usecase.lagging rect { stroke:var(--warn); fill:#2b2619; }
svg .usecase .badge rect { fill:var(--bad); stroke:none; } svg .badge text { fill:#fff; font-size:11px; font-weight:700; text-anchor:middle; }
svg .edge { fill:none; stroke:#3a4868; stroke-width:1.6; } svg .edge.consume { stroke:#2f8f6a; stroke-dasharray:0; }
.lag-row { display:grid; grid-template-columns: 1.3fr 1fr auto; gap:12px; align-items:center; padding:8px 0; border-bottom:1px solid var(--line); }
.lag-row small, .figure small, .svc small { display:block; color:var(--muted); font-size:11.5px; font-weight:normal; }
.bars { display:flex; align-items:flex-end; gap:3px; height:34px; } .bar { width:9px; border-radius:3px 3px 0 0; background:var(--ok); opacity:.8; } .bar[data-level=lag] { background:var(--warn); }
.figure { text-align:right; font-weight:600; font-size:15px; } .figure.warn { color:var(--warn); }
.svc { display:grid; grid-template-columns: 14px 1fr auto auto; grid-template-rows:auto auto; gap:2px 10px; align-items:center; padding:9px 0; border-bottom:1px solid var(--line); }
.svc .health { color:var(--muted); } .svc .sent { grid-column: 2 / -1; color:var(--muted); font-size:12px; }
.dot { width:10px; height:10px; border-radius:50%; background:var(--bad); display:inline-block; } .dot.up { background:var(--ok); } .dot.degraded { background:var(--warn); }
.dlq { border:1px solid var(--line); border-radius:12px; padding:10px 14px; margin-bottom:14px; }
.dlq header { display:flex; gap:12px; align-items:center; flex-wrap:wrap; } .dlq h3 { margin:0; font-size:14px; } .dlq header span { color:var(--muted); margin-left:auto; }
.failure { margin-top:10px; border-left:3px solid var(--bad); padding-left:12px; }
.failure-head { display:flex; gap:10px; align-items:center; flex-wrap:wrap; padding:4px 0; } .err { color:var(--bad); font-weight:700; }
.reasons i { font-style:normal; background:rgba(245,165,36,.15); color:var(--warn); border-radius:6px; padding:1px 7px; margin-right:4px; font-size:12px; }
details.letter { background:#131a28; border:1px solid var(--line); border-radius:9px; margin:6px 0; }
details.letter summary { display:flex; gap:10px; align-items:center; padding:7px 10px; cursor:pointer; flex-wrap:wrap; }
details.letter.redriven { opacity:.55; } .reason { color:var(--warn); font-weight:600; } .msg { flex:1; min-width:200px; } .meta { color:var(--muted); font-size:12px; } .done { color:var(--ok); font-size:12px; }
.letter-body { padding:4px 12px 12px; } pre { background:#0b101a; padding:10px; border-radius:8px; overflow:auto; max-height:200px; }
table { border-collapse:collapse; width:100%; font-size:12.5px; } th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; word-break:break-all; } th { color:var(--muted); font-weight:500; white-space:nowrap; word-break:normal; }
button { background:var(--accent); color:#08101f; border:0; border-radius:8px; padding:5px 12px; font-weight:600; cursor:pointer; } button:disabled { opacity:.4; cursor:default; }
code { font-family: ui-monospace, Menlo, monospace; font-size:12px; color:#b9c6e4; } a { color:var(--accent); }
form#search { display:flex; gap:8px; } form#search input { flex:1; background:#0b101a; border:1px solid var(--line); color:var(--text); border-radius:8px; padding:7px 10px; }
ol.trail { list-style:none; padding:0; margin:12px 0 0; } ol.trail li { display:grid; grid-template-columns: 190px 1fr; gap:12px; padding:8px 0; border-bottom:1px solid var(--line); }
.when { color:var(--muted); font-size:12px; } .steps { margin-top:4px; display:flex; gap:6px; flex-wrap:wrap; }
.step { border-radius:6px; padding:1px 8px; font-size:12px; background:var(--line); } .step.handled { background:rgba(62,207,142,.15); color:var(--ok); } .step.waiting { background:rgba(245,165,36,.15); color:var(--warn); } .step[class~="dead-lettered"] { background:rgba(242,85,90,.15); color:var(--bad); }
.pill { border-radius:999px; padding:1px 9px; background:var(--line); } .pill.active { color:var(--ok); } .pill.failed { color:var(--bad); }
.muted { color:var(--muted); } .error { color:var(--bad); }
#saga-state { margin-left:auto; background:var(--panel); border:1px solid var(--line); color:var(--text); border-radius:8px; padding:3px 8px; font-size:12px; }
.saga { border:1px solid var(--line); border-radius:12px; padding:10px 14px; margin-bottom:14px; } .saga header { display:flex; gap:12px; align-items:center; flex-wrap:wrap; } .saga h3 { margin:0; font-size:14px; } .saga header span { margin-left:auto; font-size:12px; }
details.saga-instance { background:#131a28; border:1px solid var(--line); border-radius:9px; margin:6px 0; }
details.saga-instance summary { display:flex; gap:12px; align-items:center; padding:7px 10px; cursor:pointer; flex-wrap:wrap; } .saga-instance .phase { color:var(--muted); } .saga-instance .current { flex:1; min-width:120px; }
.saga-steps td { word-break:normal; } .saga-steps td:first-child, .saga-steps td:nth-child(3), .saga-steps td:nth-child(4), .saga-steps td:nth-child(5) { white-space:nowrap; } .saga-steps small { display:block; color:var(--muted); }
.saga-detail { padding:4px 12px 12px; } .saga-detail h4 { margin:12px 0 6px; font-size:13px; color:var(--muted); font-weight:500; }
.pill.saga-completed, .pill.st-done, .pill.comp-acknowledged { color:var(--ok); } .pill.saga-active, .pill.st-sent, .pill.comp-sent, .pill.comp-due { color:var(--accent); }
.pill.saga-compensated, .pill.st-refused, .pill.st-timed-out { color:var(--warn); } .pill.saga-failed, .pill.saga-abandoned, .pill.comp-gave-up { color:var(--bad); }
i.late { font-style:normal; background:rgba(245,165,36,.15); color:var(--warn); border-radius:6px; padding:0 6px; font-size:11.5px; }
ol.history { margin:0; padding-left:0; list-style:none; } ol.history li { padding:3px 0; border-bottom:1px solid var(--line); font-size:12.5px; } ol.history .when { display:inline-block; min-width:150px; }
.toast { position:fixed; bottom:20px; right:24px; padding:10px 16px; border-radius:10px; opacity:0; transition:opacity .2s; pointer-events:none; } .toast.ok, .toast.error { opacity:1; } .toast.ok { background:#13382a; color:var(--ok); } .toast.error { background:#3d1519; color:var(--bad); }
`;

/** The console's one page: markup, style and its script (no external resource: it works offline). */
export function consolePage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Platform console</title><style>${STYLE}</style></head>
<body>
<header class="top"><h1>Platform <span>console</span></h1><span class="chip" id="namespace"></span><span class="chip" id="kafka">Kafka…</span><span id="updated"></span>
<input id="token" type="password" placeholder="operator token (writes)" autocomplete="off" aria-label="operator token"></header>
<main>
<section class="card wide"><h2>Topology <small>from the service declarations · live health, outbox and lag</small></h2><div id="diagram"></div></section>
<section class="card"><h2>Consumer lag <small>per group, bars per partition · every 2 s</small></h2><div id="lag"></div></section>
<section class="card"><h2>Outbox <small>rows waiting for Kafka, from each service's /metrics</small></h2><div id="outbox"></div></section>
<section class="card wide"><h2>Dead letters <small id="dlq-summary"></small></h2><div id="dead-letters"></div></section>
<section class="card"><h2>Trail of a request <small>by correlation id, across the topics</small></h2><form id="search"><input id="correlation" placeholder="X-Correlation-Id" aria-label="correlation id"><button type="submit">Search</button></form><div id="trail"></div></section>
<section class="card"><h2>Projections</h2><div id="projections"></div></section>
<section class="card wide"><h2>Sagas <small>each service's instances from its GET /sagas · every 3 s · open one for its steps and history</small>
<select id="saga-state" aria-label="saga state"><option value="">every state</option><option>active</option><option>waiting</option><option>completed</option><option>compensated</option><option>failed</option><option>abandoned</option></select></h2><div id="sagas"></div></section>
</main>
<div id="toast" class="toast"></div>
<script>(${consoleClient.toString()})();</script>
</body></html>`;
}
