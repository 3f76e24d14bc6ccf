// saestream dashboard: plain SVG/canvas plots over the sink's JSON API, kept live by its Server-Sent
// Events. No library and nothing fetched from anywhere but the sink itself.

const params = new URLSearchParams(location.search);
const token = params.get('access_token');  // with a bearer token: open /?access_token=...
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const TRAINING = [
  ['mse', 'MSE'], ['fvu', 'fraction of variance unexplained'], ['l0', 'L0 (active features per token)'],
  ['dead_fraction', 'dead fraction'], ['dense_fraction', 'dense fraction'],
  ['self_similarity_mean', 'self-similarity with previous window (mean)'], ['reference_mmcs', 'MMCS against the reference dictionary'],
];
const MAX_DRAWN = 800;

const state = {
  experiment: params.get('experiment'), sae: params.get('sae'),
  saes: [],                 // latest metrics of every SAE
  metrics: new Map(),       // SAE id -> metrics history (step order)
  comparisons: new Map(),   // experiment -> comparison history
  producers: new Map(),     // run:producer -> metrics history
  spectrum: new Map(),      // run -> spectrum history
  hessian: new Map(),       // run -> loss Hessian measurements during training (step order)
  evals: new Map(),         // experiment:sae -> spliced evaluations (snapshot order)
  feature: null,            // feature index on show
};

async function api(path) {
  const response = await fetch(path, {headers: token ? {Authorization: 'Bearer ' + token} : {}});
  if (!response.ok) {
    throw new Error(path + ': ' + response.status + ' ' + (await response.text()));
  }
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const svg = ['svg', 'path', 'line', 'rect', 'text', 'g', 'circle', 'title'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function status(text) {
  document.getElementById('status').textContent = text;
}

// ---------- formatting and scales ----------

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  if (a >= 1e-3) return v.toFixed(3);
  return v.toExponential(1);
}

function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => (hi - lo) / s <= n) || 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(t);
  return out;
}

function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - (lo === 0 ? 1 : Math.abs(lo) * 0.1), hi + (hi === 0 ? 1 : Math.abs(hi) * 0.1)];
  return [lo, hi];
}

/** Keeps at most MAX_DRAWN points, always the last. */
function thin(points) {
  if (points.length <= MAX_DRAWN) return points;
  const every = Math.ceil(points.length / MAX_DRAWN);
  const out = points.filter((_, i) => i % every === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

// ---------- charts ----------

/** A line chart: series [{name, color, points: [[x, y], ...]}]. data-* attributes say what was drawn. */
function lineChart({id, title, series, xLabel = 'tokens', logY = false, width = 340, height = 190, legend = true}) {
  const m = {l: 46, r: 10, t: 8, b: 30};
  const all = series.flatMap(s => s.points);
  const ys = all.map(p => logY ? Math.log10(p[1]) : p[1]);
  const [x0, x1] = extent(all.map(p => p[0]));
  const [y0, y1] = extent(ys);
  const sx = x => m.l + (x - x0) / (x1 - x0) * (width - m.l - m.r);
  const sy = y => height - m.b - (y - y0) / (y1 - y0) * (height - m.t - m.b);
  const svg = el('svg', {width, height, viewBox: `0 0 ${width} ${height}`, 'data-chart': id,
    'data-points': all.length, 'data-series-count': series.length});
  for (const t of ticks(y0, y1, 4)) {
    svg.append(el('line', {x1: m.l, x2: width - m.r, y1: sy(t), y2: sy(t), stroke: '#eee'}));
    svg.append(el('text', {x: m.l - 4, y: sy(t) + 3, 'text-anchor': 'end'}, logY ? fmt(Math.pow(10, t)) : fmt(t)));
  }
  for (const t of ticks(x0, x1, 4)) {
    svg.append(el('text', {x: sx(t), y: height - m.b + 12, 'text-anchor': 'middle'}, fmt(t)));
  }
  svg.append(el('text', {x: (m.l + width - m.r) / 2, y: height - 4, 'text-anchor': 'middle'}, xLabel));
  svg.append(el('line', {x1: m.l, x2: m.l, y1: m.t, y2: height - m.b, stroke: '#999'}));
  svg.append(el('line', {x1: m.l, x2: width - m.r, y1: height - m.b, y2: height - m.b, stroke: '#999'}));
  for (const s of series) {
    const pts = thin(s.points.filter(p => Number.isFinite(logY ? Math.log10(p[1]) : p[1])));
    if (pts.length === 0) continue;
    const d = pts.map((p, i) => (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(logY ? Math.log10(p[1]) : p[1]).toFixed(1)).join('');
    svg.append(el('path', {d, fill: 'none', stroke: s.color, 'stroke-width': 1.5, 'data-series': s.name,
      'data-n': s.points.length, 'data-last': s.points[s.points.length - 1][1]}, el('title', {}, s.name)));
    if (pts.length === 1) {
      svg.append(el('circle', {cx: sx(pts[0][0]), cy: sy(logY ? Math.log10(pts[0][1]) : pts[0][1]), r: 2.5, fill: s.color}));
    }
  }
  const figure = el('figure', {}, el('div', {class: 'chart-title'}, title), svg);
  if (all.length === 0) {
    figure.append(el('div', {class: 'empty'}, 'no data yet'));
  } else if (series.length > 1 && legend) {
    figure.append(el('div', {class: 'legend'}, ...series.map(s => el('span', {}, el('i', {style: 'background:' + s.color}), s.name))));
  }
  return figure;
}

function barChart({id, title, values, labels, width = 480, height = 190}) {
  const m = {l: 40, r: 8, t: 8, b: 30};
  const max = Math.max(1, ...values);
  const bw = (width - m.l - m.r) / Math.max(1, values.length);
  const svg = el('svg', {width, height, viewBox: `0 0 ${width} ${height}`, 'data-chart': id,
    'data-total': values.reduce((a, b) => a + b, 0), 'data-bins': values.length});
  values.forEach((v, i) => {
    const h = v / max * (height - m.t - m.b);
    svg.append(el('rect', {x: m.l + i * bw + 1, y: height - m.b - h, width: Math.max(1, bw - 2), height: h, fill: '#457b9d',
      'data-value': v}, el('title', {}, labels[i] + ': ' + v)));
    if (i % 2 === 0) svg.append(el('text', {x: m.l + i * bw, y: height - m.b + 12, 'text-anchor': 'middle'}, labels[i]));
  });
  for (const t of ticks(0, max, 4)) {
    const y = height - m.b - t / max * (height - m.t - m.b);
    svg.append(el('text', {x: m.l - 4, y: y + 3, 'text-anchor': 'end'}, fmt(t)));
  }
  svg.append(el('text', {x: (m.l + width - m.r) / 2, y: height - 2, 'text-anchor': 'middle'}, 'log10 density (bin start)'));
  return el('figure', {}, title ? el('div', {class: 'chart-title'}, title) : '', svg);
}

/** cosine in [-1, 1] to a colour: red (opposite) through light grey (0) to dark blue (same). */
function cosineColor(c) {
  if (c === null || c === undefined) return [230, 230, 230];
  const t = Math.max(-1, Math.min(1, c));
  const lerp = (a, b, u) => a.map((v, i) => Math.round(v + (b[i] - v) * u));
  return t < 0 ? lerp([247, 247, 247], [178, 24, 43], -t) : lerp([247, 247, 247], [8, 48, 107], t);
}

// ---------- sections ----------

function experimentSaes() {
  return state.saes.filter(m => m.experiment === state.experiment);
}

function colorOf(saeId) {
  const ids = experimentSaes().map(m => m.id).sort();
  return COLORS[Math.max(0, ids.indexOf(saeId)) % COLORS.length];
}

function renderSelectors() {
  const experiments = [...new Set(state.saes.map(m => m.experiment).concat([...state.comparisons.keys()]))].sort();
  if (!state.experiment || !experiments.includes(state.experiment)) state.experiment = experiments[0] || null;
  const saes = experimentSaes().map(m => m.id).sort();
  if (!state.sae || !saes.includes(state.sae)) state.sae = saes[0] || null;
  fill(document.getElementById('experiment'), experiments, state.experiment);
  fill(document.getElementById('sae'), saes, state.sae);
}

function fill(select, values, selected) {
  const current = [...select.options].map(o => o.value).join('\n');
  if (current !== values.join('\n')) {
    select.replaceChildren(...values.map(v => el('option', {value: v}, v)));
  }
  if (selected) select.value = selected;
}

function renderTraining() {
  const box = document.getElementById('training-charts');
  const saes = experimentSaes().map(m => m.id).sort();
  const charts = [];
  for (const [field, title] of TRAINING) {
    const series = saes.map(id => ({name: id, color: colorOf(id),
      points: (state.metrics.get(id) || []).filter(m => m[field] !== null && m[field] !== undefined)
        .map(m => [m.tokens_seen, m[field]])})).filter(s => s.points.length > 0);
    if (series.length === 0 && field === 'reference_mmcs') continue;
    charts.push(lineChart({id: field, title, series, legend: false, logY: field === 'mse' && series.some(s => s.points.some(p => p[1] > 0))}));
  }
  charts.push(...saes.map(matryoshkaChart).filter(c => c));
  box.replaceChildren(...charts);
  // a repeated-data replay (replay --epochs) says which pass over its range the SAE is in
  const pass = id => {
    const m = experimentSaes().find(x => x.id === id);
    return m && m.epoch > 1 ? ` (pass ${m.epoch}, ${fmt(m.epoch_tokens_seen)} tokens of it)` : '';
  };
  // a transcoder says which hook it reconstructs from which (FVU is of the target), and how its pairing goes
  const transcoder = id => {
    const m = experimentSaes().find(x => x.id === id);
    if (!m || !m.hook_name_out) return '';
    return ` (transcoder ${m.hook_name} → ${m.hook_name_out}; ${fmt(m.halves_pending)} rows waiting for their pair,`
      + ` ${fmt(m.halves_dropped)} let go)`;
  };
  document.getElementById('training-legend').replaceChildren(...saes.map(id =>
    el('span', {'data-sae': id}, el('i', {style: 'background:' + colorOf(id)}), id + pass(id) + transcoder(id))));
}

/** A Matryoshka SAE's FVU of each nested prefix over tokens: the small prefixes must reconstruct on their own. */
function matryoshkaChart(id) {
  const history = state.metrics.get(id) || [];
  const latest = history.at(-1);
  const widths = latest && latest.matryoshka_widths;
  if (!widths || widths.length === 0) return null;
  const series = widths.map((w, i) => ({name: 'first ' + w + ' latents', color: COLORS[i % COLORS.length],
    points: history.filter(m => m.matryoshka_prefix_fvu && Number.isFinite(m.matryoshka_prefix_fvu[i]))
      .map(m => [m.tokens_seen, m.matryoshka_prefix_fvu[i]])}));
  return lineChart({id: 'matryoshka-' + id, title: id + ': FVU of each Matryoshka prefix', series});
}

const LINEAGE = [['stable', '#a8dadc'], ['drifted', '#457b9d'], ['born', '#2a9d8f'], ['split', '#e9c46a'],
  ['merged', '#f4a261'], ['died', '#e63946'], ['dead', '#6c757d']];

/** Per SAE, its features by lineage kind at each drift boundary, stacked (one bar per window). */
function renderLineage() {
  const box = document.getElementById('lineage-charts');
  const charts = experimentSaes().map(m => m.id).sort().map(id => {
    const byWindow = new Map();
    for (const m of state.metrics.get(id) || []) {
      if (m.lineage_counts && m.lineage_counts.length === LINEAGE.length) byWindow.set(m.window_index, m.lineage_counts);
    }
    return byWindow.size === 0 ? null : stackedBars({id: 'lineage-' + id, title: id + ': features by lineage at each boundary',
      windows: [...byWindow.keys()].sort((a, b) => a - b), counts: byWindow});
  }).filter(c => c);
  box.replaceChildren(...(charts.length ? charts : [el('div', {class: 'empty'}, 'no drift boundary with lineage yet')]));
}

function stackedBars({id, title, windows, counts, width = 480, height = 200}) {
  const m = {l: 40, r: 8, t: 8, b: 30};
  const max = Math.max(1, ...windows.map(w => counts.get(w).reduce((a, b) => a + b, 0)));
  const bw = (width - m.l - m.r) / Math.max(1, windows.length);
  const svg = el('svg', {width, height, viewBox: `0 0 ${width} ${height}`, 'data-chart': id, 'data-windows': windows.length});
  windows.forEach((w, i) => {
    let y = height - m.b;
    counts.get(w).forEach((v, k) => {
      const h = v / max * (height - m.t - m.b);
      y -= h;
      svg.append(el('rect', {x: m.l + i * bw + 1, y, width: Math.max(1, bw - 2), height: h, fill: LINEAGE[k][1],
        'data-window': w, 'data-kind': LINEAGE[k][0], 'data-value': v}, el('title', {}, `window ${w}: ${v} ${LINEAGE[k][0]}`)));
    });
    if (windows.length <= 20 || i % Math.ceil(windows.length / 20) === 0) {
      svg.append(el('text', {x: m.l + (i + 0.5) * bw, y: height - m.b + 12, 'text-anchor': 'middle'}, String(w)));
    }
  });
  for (const t of ticks(0, max, 4)) {
    const y = height - m.b - t / max * (height - m.t - m.b);
    svg.append(el('text', {x: m.l - 4, y: y + 3, 'text-anchor': 'end'}, fmt(t)));
  }
  svg.append(el('text', {x: (m.l + width - m.r) / 2, y: height - 2, 'text-anchor': 'middle'}, 'drift window'));
  return el('figure', {}, el('div', {class: 'chart-title'}, title), svg,
    el('div', {class: 'legend'}, ...LINEAGE.map(([k, c]) => el('span', {}, el('i', {style: 'background:' + c}), k))));
}

function renderDensity() {
  const latest = state.saes.find(m => m.id === state.sae);
  const box = document.getElementById('density');
  document.getElementById('sae-name').textContent = state.sae || '—';
  if (!latest || !latest.log10_density_histogram || latest.log10_density_histogram.length === 0) {
    box.replaceChildren(el('div', {class: 'empty'}, 'no density histogram yet'));
    return;
  }
  const bins = latest.log10_density_histogram;
  const labels = bins.map((_, i) => (-10 + 0.5 * i).toFixed(1));
  box.replaceChildren(barChart({id: 'density', values: bins, labels}));
}

async function renderHeatmap() {
  const canvas = document.getElementById('heatmap');
  const note = document.getElementById('heatmap-note');
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!state.sae) return;
  let history;
  try {
    history = await api('/api/saes/' + encodeURIComponent(state.sae) + '/drift/history');
  } catch (e) {
    note.textContent = 'no drift windows yet';
    canvas.dataset.windows = 0;
    return;
  }
  const windows = history.windows;
  const order = history.order.length ? history.order
    : (windows[0] ? windows[0].self_similarity_previous.map((_, i) => i) : []);
  canvas.dataset.windows = windows.length;
  canvas.dataset.features = order.length;
  if (windows.length === 0 || order.length === 0) {
    note.textContent = 'no drift windows yet';
    return;
  }
  const image = ctx.createImageData(windows.length, order.length);
  order.forEach((feature, row) => {
    windows.forEach((w, col) => {
      const [r, g, b] = cosineColor(w.self_similarity_previous[feature]);
      const at = 4 * (row * windows.length + col);
      image.data.set([r, g, b, 255], at);
    });
  });
  const off = document.createElement('canvas');
  off.width = windows.length;
  off.height = order.length;
  off.getContext('2d').putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  const fell = history.features_reached_high_then_fell;
  note.textContent = `${windows.length} windows × ${order.length} features (densest at the top); `
    + `${fell === undefined ? '–' : fell} features reached 0.9 and later fell below 0.6. `
    + 'Colour: cosine with the previous window, red −1 … grey 0 … blue +1.';
  note.dataset.reachedHighThenFell = fell;
}

function renderEnsemble() {
  const history = state.comparisons.get(state.experiment) || [];
  const matrix = document.getElementById('mmcs-matrix');
  const chart = document.getElementById('mmcs-chart');
  if (history.length === 0) {
    matrix.replaceChildren(el('div', {class: 'empty'}, 'no comparison yet (needs two or more SAEs on one hook, at a window boundary)'));
    chart.replaceChildren();
    return;
  }
  const last = history[history.length - 1];
  const ids = last.sae_ids;
  const value = (a, b) => {
    if (a === b) return 1;
    const p = last.pairs.find(p => (p.a === a && p.b === b) || (p.a === b && p.b === a));
    if (!p) return null;
    return p.a === a ? p.mmcs_a_to_b : p.mmcs_b_to_a;
  };
  const table = el('table', {'data-chart': 'mmcs', 'data-window': last.window_index});
  table.append(el('tr', {}, el('th', {}, ''), ...ids.map(id => el('th', {}, id))));
  for (const a of ids) {
    const row = el('tr', {}, el('th', {}, a));
    for (const b of ids) {
      const v = value(a, b);
      const [r, g, bl] = cosineColor(v);
      row.append(el('td', {style: `background: rgb(${r},${g},${bl}); color: ${v > 0.6 ? '#fff' : '#222'}`,
        'data-a': a, 'data-b': b, 'data-mmcs': v}, v === null ? '–' : v.toFixed(3)));
    }
    table.append(row);
  }
  matrix.replaceChildren(table, el('div', {class: 'note'},
    `window ${last.window_index === -1 ? 'end of stream' : last.window_index}, ${fmt(last.tokens_seen)} tokens`));
  const series = last.pairs.map((p, i) => ({name: p.a + ' → ' + p.b, color: COLORS[i % COLORS.length],
    points: history.map(h => [h.tokens_seen, (h.pairs.find(q => q.a === p.a && q.b === p.b) || {}).mmcs_a_to_b])
      .filter(pt => Number.isFinite(pt[1]))}));
  chart.replaceChildren(lineChart({id: 'mmcs-over-tokens', title: 'MMCS over tokens', series, width: 480}));
}

function renderProducers() {
  const box = document.getElementById('producer-chart');
  const table = document.getElementById('producer-table');
  const keys = [...state.producers.keys()].sort();
  if (keys.length === 0) {
    box.replaceChildren(el('div', {class: 'empty'}, 'no producer has reported'));
    table.replaceChildren();
    return;
  }
  const t0 = Math.min(...keys.map(k => state.producers.get(k)[0].time_ms));
  const series = keys.map((k, i) => ({name: k, color: COLORS[i % COLORS.length],
    points: state.producers.get(k).map(m => [(m.time_ms - t0) / 1000, m.tokens_per_second])}));
  box.replaceChildren(lineChart({id: 'producer-throughput', title: 'tokens/s', series, xLabel: 'seconds', width: 700}));
  table.replaceChildren(el('tr', {}, ...['producer', 'model', 'documents', 'tokens', 'tokens/s', 'shards done', 'failed']
    .map(h => el('th', {}, h))));
  for (const k of keys) {
    const m = state.producers.get(k).at(-1);
    table.append(el('tr', {'data-producer': k}, el('td', {}, k), el('td', {}, m.model_id), el('td', {}, fmt(m.documents)),
      el('td', {'data-tokens': m.tokens}, fmt(m.tokens)), el('td', {}, fmt(m.tokens_per_second)),
      el('td', {}, m.shards_done + '/' + m.shards_total), el('td', {}, String(m.shards_failed))));
  }
}

/** CE loss recovered and KL of every SAE's snapshots spliced into the model, against tokens trained. */
function renderEvals() {
  const box = document.getElementById('eval-charts');
  const keys = [...state.evals.keys()].sort();
  if (keys.length === 0) {
    box.replaceChildren(el('div', {class: 'empty'}, 'no spliced evaluation yet (the default demo, or saestream eval --snapshots)'));
    return;
  }
  const series = field => keys.map((k, i) => ({name: k, color: COLORS[i % COLORS.length],
    points: state.evals.get(k).map(e => [e.tokens_seen, e[field]]).sort((a, b) => a[0] - b[0])}));
  box.replaceChildren(
    lineChart({id: 'ce-loss-recovered', title: 'CE loss recovered (SAE spliced in; 1 = clean, 0 = zero-ablated)',
      series: series('ce_loss_score'), xLabel: 'tokens trained', width: 480}),
    lineChart({id: 'kl-with-sae', title: 'KL(clean ‖ spliced), nats per token', series: series('kl_div_with_sae'),
      xLabel: 'tokens trained', width: 480}));
}

function renderSpectrum() {
  const box = document.getElementById('spectrum-charts');
  const runs = [...new Set([...state.spectrum.keys(), ...state.hessian.keys()])].sort();
  if (runs.length === 0) {
    box.replaceChildren(el('div', {class: 'empty'}, 'no spectrum yet (saestream spectrum, or demo --train-live)'));
    return;
  }
  const charts = [];
  for (const run of runs) {
    charts.push(...hessianCharts(run, state.hessian.get(run) || []));
    const history = state.spectrum.get(run) || [];
    if (history.length === 0) continue;
    const k = Math.min(8, Math.max(...history.map(h => h.singular_values.length)));
    const values = [];
    for (let i = 0; i < k; i++) {
      values.push({name: 'σ' + (i + 1), color: COLORS[i % COLORS.length],
        points: history.filter(h => h.singular_values.length > i).map(h => [h.step, h.singular_values[i]])});
    }
    charts.push(lineChart({id: 'singular-values-' + run, title: run + ': leading singular values', series: values,
      xLabel: 'step', logY: true, width: 480}));
    charts.push(lineChart({id: 'effective-rank-' + run, title: run + ': effective rank (σ > '
        + history.at(-1).rank_threshold + ' σ₁)', xLabel: 'step', width: 480, series: [
      {name: 'effective rank', color: COLORS[0], points: history.map(h => [h.step, h.effective_rank])},
      {name: 'after subtracting the mean', color: COLORS[1], points: history.map(h => [h.step, h.centered_effective_rank])},
      // the most the rank can be: a Frequent Directions buffer holds at most 2l - 1 rows between shrinks
      {name: 'cap: min(steps seen, 2l − 1), sketch rows l = ' + history.at(-1).sketch_rows, color: '#bbb',
        points: history.map(h => [h.step, Math.min(h.steps_seen, 2 * h.sketch_rows - 1)])}]}));
    const windowed = history.filter(h => h.window_steps > 0);
    if (windowed.length > 0) {
      const n = windowed.at(-1).window_steps;
      const last = windowed.at(-1);
      charts.push(lineChart({id: 'window-rank-' + run, title: run + ': exact effective rank, first ' + n
          + ' steps (' + last.early_first_step + '–' + last.early_last_step + ') and last ' + n + ' steps',
        xLabel: 'step', width: 480, series: [
          {name: 'last ' + n + ' steps', color: COLORS[0], points: windowed.map(h => [h.step, h.late_effective_rank])},
          {name: 'last ' + n + ', mean subtracted', color: COLORS[1],
            points: windowed.map(h => [h.step, h.late_centered_effective_rank])},
          {name: 'first ' + n + ' steps', color: COLORS[2], points: windowed.map(h => [h.step, h.early_effective_rank])},
          {name: 'first ' + n + ', mean subtracted', color: COLORS[3],
            points: windowed.map(h => [h.step, h.early_centered_effective_rank])}]}));
    }
  }
  box.replaceChildren(...charts);
}

/** The loss Hessian during training: the top eigenvalues (sharpness) and the gradients' share in their span. */
function hessianCharts(run, history) {
  if (history.length === 0) return [];
  const k = Math.max(...history.map(h => h.eigenvalues.length));
  const values = [];
  for (let i = 0; i < k; i++) {
    values.push({name: 'λ' + (i + 1) + (i === 0 ? ' (sharpness)' : ''), color: COLORS[i % COLORS.length],
      points: history.filter(h => h.eigenvalues.length > i).map(h => [h.step, h.eigenvalues[i]])});
  }
  const last = history.at(-1);
  const steps = (last.seconds / Math.max(1e-9, last.step_seconds)).toFixed(1);
  return [
    lineChart({id: 'hessian-eigenvalues-' + run, title: run + ': loss Hessian, top eigenvalues (' + last.tokens
        + ' tokens; last measurement ' + last.seconds.toFixed(1) + ' s, the time of ' + steps + ' training steps)',
      xLabel: 'step', width: 480, series: values}),
    lineChart({id: 'hessian-overlap-' + run, title: run + ': share of each step\'s gradient in the top-' + k
        + ' Hessian eigenspace (sketch space)', xLabel: 'step', width: 480, series: [
      {name: 'mean over the recent steps', color: COLORS[0], points: history.map(h => [h.step, h.overlap_mean])},
      {name: 'each recent step', color: '#bbb',
        points: history.flatMap(h => h.overlap_steps.map((s, i) => [s, h.overlaps[i]]))}]})];
}

async function renderFeature() {
  const view = document.getElementById('feature-view');
  if (state.feature === null || !state.sae) {
    view.replaceChildren(el('div', {class: 'empty'}, 'choose a feature'));
    return;
  }
  let f;
  try {
    f = await api('/api/saes/' + encodeURIComponent(state.sae) + '/features/' + state.feature);
  } catch (e) {
    view.replaceChildren(el('div', {class: 'empty'}, String(e.message)));
    return;
  }
  const parts = [];
  parts.push(el('p', {'data-feature': f.feature},
    `${state.sae} feature ${f.feature} of ${f.d_sae}: log10 density `,
    el('b', {'data-density': f.log10_density}, f.log10_density === undefined || f.log10_density === null
      ? '–' : f.log10_density.toFixed(2)),
    f.examples_window_index === undefined ? '' : ` · examples from window ${f.examples_window_index === -1 ? 'end of stream'
      : f.examples_window_index} (${fmt(f.blocks_sampled)} blocks sampled)`));
  if (f.self_similarity.length > 0) {
    parts.push(lineChart({id: 'feature-self-similarity', title: 'self-similarity with the previous window',
      series: [{name: 'cosine', color: COLORS[0], points: f.self_similarity.filter(p => p.cosine !== null)
        .map(p => [p.tokens_seen, p.cosine])}], width: 480, height: 150}));
  }
  const examples = el('div', {id: 'feature-examples', 'data-count': f.examples.length});
  if (f.examples.length === 0) {
    examples.append(el('div', {class: 'empty'}, 'no examples yet: they are published when a drift window closes'));
  }
  for (const ex of f.examples) {
    const max = Math.max(1e-9, ...ex.activations.filter(Number.isFinite));
    const line = el('div', {class: 'context', 'data-activation': ex.activation,
      title: `${ex.shard_id} document ${ex.document_id}, window ${ex.sequence_index}, position ${ex.position} (${ex.source})`});
    line.append(el('b', {}, ex.activation.toFixed(3) + '  '));
    ex.tokens.forEach((piece, i) => {
      const a = ex.activations[i] || 0;
      const alpha = Math.max(0, a) / max;
      line.append(el('span', {style: `background: rgba(231,111,81,${alpha.toFixed(3)})`, 'data-act': a,
        class: ex.context_start + i === ex.position ? 'peak' : null, title: a.toFixed(3)}, piece));
    });
    examples.append(line);
  }
  if (f.lineage && f.lineage.length > 0) {
    // newest boundary first: each step links to the feature it matched at the boundary before
    const chain = el('ol', {class: 'lineage', 'data-steps': f.lineage.length});
    for (const step of f.lineage) {
      const item = el('li', {'data-kind': step.kind, 'data-window': step.window_index},
        `window ${step.window_index}: #${step.feature} ${step.kind}`,
        step.cosine === null ? '' : ` (cos ${step.cosine.toFixed(3)} with #${step.match})`);
      if (step.partner >= 0) {
        const a = el('a', {href: '#', 'data-feature': step.partner},
          step.kind === 'merged' ? ` merged with #${step.partner} of the window before` : ` split with #${step.partner}`);
        a.addEventListener('click', ev => {
          ev.preventDefault();
          state.feature = step.partner;
          document.getElementById('feature-index').value = step.partner;
          renderFeature();
        });
        item.append(a);
      }
      chain.append(item);
    }
    const last = f.lineage.at(-1);
    parts.push(el('h3', {}, 'lineage, back to ' + (last.kind === 'born' ? 'its birth' : 'the oldest snapshot kept')), chain);
  }
  parts.push(el('h3', {}, 'top-activating contexts'), examples);
  const nearest = el('div', {class: 'nearest'});
  for (const n of f.nearest) {
    const a = el('a', {href: '#', 'data-sae': n.id, 'data-feature': n.feature}, `${n.sae_id} #${n.feature} (cos ${n.cosine.toFixed(3)})`);
    a.addEventListener('click', ev => {
      ev.preventDefault();
      state.sae = n.id;
      state.feature = n.feature;
      document.getElementById('feature-index').value = n.feature;
      renderAll();
    });
    nearest.append(a);
  }
  parts.push(el('h3', {}, 'nearest features in the other dictionaries'),
    f.nearest.length ? nearest : el('div', {class: 'empty'}, 'no other dictionary of this width has a snapshot'));
  view.replaceChildren(...parts);
}

// ---------- loading and live updates ----------

async function loadSaeHistories() {
  await Promise.all(experimentSaes().map(async m => {
    state.metrics.set(m.id, await api('/api/saes/' + encodeURIComponent(m.id) + '/metrics'));
  }));
}

async function loadAll() {
  state.saes = await api('/api/saes');
  const experiments = await api('/api/experiments');
  await Promise.all(experiments.map(async e => {
    try {
      state.comparisons.set(e.experiment, await api('/api/experiments/' + encodeURIComponent(e.experiment) + '/comparisons'));
    } catch (err) {
      // no comparisons for this experiment
    }
  }));
  renderSelectors();
  await loadSaeHistories();
  const producers = await api('/api/producers');
  await Promise.all(Object.keys(producers).map(async k =>
    state.producers.set(k, await api('/api/producers/' + encodeURIComponent(k) + '/metrics'))));
  const spectra = await api('/api/spectrum');
  await Promise.all(Object.keys(spectra).map(async run =>
    state.spectrum.set(run, await api('/api/spectrum/' + encodeURIComponent(run)))));
  const hessian = await api('/api/hessian');
  await Promise.all(Object.keys(hessian).map(async run =>
    state.hessian.set(run, await api('/api/hessian/' + encodeURIComponent(run)))));
  const evals = await api('/api/evals');
  await Promise.all(Object.keys(evals).map(async k =>
    state.evals.set(k, await api('/api/evals/' + encodeURIComponent(k)))));
}

async function renderAll() {
  renderSelectors();
  renderTraining();
  renderDensity();
  renderLineage();
  renderEnsemble();
  renderProducers();
  renderSpectrum();
  renderEvals();
  await Promise.all([renderHeatmap(), renderFeature()]);
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

/** Coalesces bursts of events into one redraw per animation frame. */
const pending = new Set();
function schedule(what) {
  if (pending.size === 0) {
    requestAnimationFrame(() => {
      const todo = [...pending];
      pending.clear();
      for (const w of todo) redraw(w);
      status('updated ' + new Date().toLocaleTimeString());
    });
  }
  pending.add(what);
}
function redraw(w) {
  ({training: () => { renderSelectors(); renderTraining(); renderDensity(); renderLineage(); }, heatmap: renderHeatmap,
    ensemble: renderEnsemble, producers: renderProducers, spectrum: renderSpectrum, evals: renderEvals,
    feature: renderFeature})[w]();
}

/** Appends a streamed record unless the history already has it (it may have been loaded after it arrived). */
function appendNewer(map, key, value) {
  if (!map.has(key)) map.set(key, []);
  const history = map.get(key);
  if (history.length === 0 || history.at(-1).time_ms < value.time_ms
      || (history.at(-1).time_ms === value.time_ms && JSON.stringify(history.at(-1)) !== JSON.stringify(value))) {
    history.push(value);
  }
}

function connect() {
  const live = document.getElementById('live');
  const source = new EventSource('/api/events' + (token ? '?access_token=' + encodeURIComponent(token) : ''));
  source.onopen = () => { live.className = 'on'; };
  source.onerror = () => { live.className = 'off'; };
  source.addEventListener('metrics', ev => {
    const {key, value} = JSON.parse(ev.data);
    value.id = key;
    const i = state.saes.findIndex(m => m.id === key);
    const previous = i >= 0 ? state.saes[i] : null;
    if (i >= 0) state.saes[i] = value; else state.saes.push(value);
    if (!state.metrics.has(key)) state.metrics.set(key, []);
    const history = state.metrics.get(key);
    // the history store keeps one record per step: a newer record of the same step replaces it
    if (history.length > 0 && history.at(-1).step === value.step) history[history.length - 1] = value;
    else if (history.length === 0 || history.at(-1).step < value.step) history.push(value);
    schedule('training');
    if (key === state.sae && previous && previous.window_index !== value.window_index) {
      schedule('heatmap');
    }
  });
  source.addEventListener('comparison', ev => {
    const {key, value} = JSON.parse(ev.data);
    appendNewer(state.comparisons, key, value);
    schedule('ensemble');
  });
  source.addEventListener('producer', ev => {
    const {key, value} = JSON.parse(ev.data);
    appendNewer(state.producers, key, value);
    schedule('producers');
  });
  source.addEventListener('spectrum', ev => {
    const {key, value} = JSON.parse(ev.data);
    appendNewer(state.spectrum, key, value);
    schedule('spectrum');
  });
  source.addEventListener('hessian', ev => {
    const {key, value} = JSON.parse(ev.data);
    appendNewer(state.hessian, key, value);
    schedule('spectrum');
  });
  source.addEventListener('eval', ev => {
    const {key, value} = JSON.parse(ev.data);
    appendNewer(state.evals, key, value);
    schedule('evals');
  });
  source.addEventListener('features', ev => {
    const {key} = JSON.parse(ev.data);
    if (key === state.sae) schedule('feature');
  });
}

document.getElementById('experiment').addEventListener('change', async ev => {
  state.experiment = ev.target.value;
  state.sae = null;
  renderSelectors();
  await loadSaeHistories();
  await renderAll();
});
document.getElementById('sae').addEventListener('change', async ev => {
  state.sae = ev.target.value;
  await renderAll();
});
document.getElementById('feature-form').addEventListener('submit', async ev => {
  ev.preventDefault();
  state.feature = Number(document.getElementById('feature-index').value);
  await renderFeature();
});

(async () => {
  try {
    connect();
    await loadAll();
    if (params.has('feature')) {
      state.feature = Number(params.get('feature'));
      document.getElementById('feature-index').value = state.feature;
    }
    await renderAll();
    status('loaded ' + new Date().toLocaleTimeString());
  } catch (e) {
    status('error: ' + e.message);
    document.body.dataset.error = e.message;
  }
})();
