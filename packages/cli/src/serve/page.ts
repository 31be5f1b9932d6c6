/**
 * The web page at `/`: one self-contained HTML document (inline CSS and JS, nothing loaded
 * from elsewhere, no build step). It shows counts by state, the newest tasks updated live
 * through `/api/events`, and a task's details with its output followed live, with kill,
 * retry and remove buttons. Data reaches the DOM through `textContent` only, never as HTML.
 */

const STYLE = `
:root { --bg:#f6f7f9; --fg:#1c2430; --muted:#5b6573; --line:#dde1e6; --card:#fff; --accent:#2f6fde;
  --pending:#8a6d00; --running:#1f6fd1; --success:#1e7d3a; --error:#c0322b; --killed:#7a4fb0; --creating:#5b6573; --suspended:#a35a00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--fg); }
header { display:flex; align-items:center; gap:16px; padding:10px 20px; background:#1c2430; color:#fff; }
header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
header .broker { font-family:ui-monospace,Menlo,Consolas,monospace; font-size:12px; opacity:.8; }
header .live { margin-left:auto; font-size:12px; }
header .live::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:#999; margin-right:6px; vertical-align:middle; }
header .live.on::before { background:#3ccf6a; }
main { padding:16px 20px; display:grid; grid-template-columns: 1fr; gap:16px; }
main.with-detail { grid-template-columns: minmax(0,1.2fr) minmax(0,1fr); }
#counts { display:flex; flex-wrap:wrap; gap:8px; grid-column: 1 / -1; }
.chip { border:1px solid var(--line); background:var(--card); border-radius:8px; padding:6px 12px; cursor:pointer; min-width:92px; text-align:left; font:inherit; color:inherit; }
.chip b { display:block; font-size:20px; }
.chip.active { border-color:var(--accent); box-shadow:0 0 0 2px #2f6fde33; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; min-width:0; }
.card h2 { font-size:14px; margin:0; padding:10px 12px; border-bottom:1px solid var(--line); display:flex; gap:8px; align-items:center; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { font-size:12px; color:var(--muted); font-weight:600; background:#fafbfc; }
td.cmd { max-width:360px; overflow:hidden; text-overflow:ellipsis; font-family:ui-monospace,Menlo,Consolas,monospace; font-size:13px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tbody tr { cursor:pointer; }
tbody tr:hover { background:#f0f4fb; }
tbody tr.selected { background:#e4edfc; }
.status { font-weight:600; }
.s-pending{color:var(--pending)} .s-running{color:var(--running)} .s-success{color:var(--success)} .s-error{color:var(--error)} .s-killed{color:var(--killed)} .s-creating{color:var(--creating)} .s-suspended{color:var(--suspended)}
.bar { display:inline-block; width:80px; height:8px; background:#e6e9ee; border-radius:4px; vertical-align:middle; margin-right:6px; overflow:hidden; }
.bar i { display:block; height:100%; background:var(--running); }
.empty { padding:24px; color:var(--muted); text-align:center; }
#detail dl { display:grid; grid-template-columns: max-content 1fr; gap:4px 12px; margin:0; padding:12px; }
#detail dt { color:var(--muted); }
#detail dd { margin:0; overflow-wrap:anywhere; font-family:ui-monospace,Menlo,Consolas,monospace; font-size:13px; }
.actions { display:flex; gap:8px; padding:0 12px 12px; flex-wrap:wrap; }
button.act { font:inherit; padding:5px 12px; border-radius:6px; border:1px solid var(--line); background:#fff; cursor:pointer; }
button.act:hover { border-color:var(--accent); }
button.act.danger { color:var(--error); }
button.act:disabled { opacity:.45; cursor:default; }
button.close { margin-left:auto; border:none; background:none; font-size:18px; cursor:pointer; color:var(--muted); }
pre#out { margin:0; padding:10px 12px; background:#10161f; color:#d8dee9; font:12.5px/1.4 ui-monospace,Menlo,Consolas,monospace; min-height:120px; max-height:55vh; overflow:auto; white-space:pre-wrap; overflow-wrap:anywhere; }
pre#out .stderr { color:#ff8f87; } pre#out .log { color:#9fb3c8; font-style:italic; }
#toast { position:fixed; bottom:16px; left:50%; transform:translateX(-50%); background:#1c2430; color:#fff; padding:8px 14px; border-radius:6px; display:none; max-width:80vw; }
#toast.show { display:block; }
@media (max-width: 900px) { main.with-detail { grid-template-columns: 1fr; } }
`

const SCRIPT = `
'use strict';
const STATES = ['creating','pending','running','suspended','success','error','killed'];
const LIMIT = 100;
const $ = (id) => document.getElementById(id);
const st = { tasks: new Map(), filter: null, selected: null, detail: null, fetchedAt: Date.now(), dirty: new Set(), timer: null, taskEvents: null, got: {}, decoders: {} };

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) for (const [k, v] of Object.entries(props)) { if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v); }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
function toast(text) { const t = $('toast'); t.textContent = text; t.classList.add('show'); clearTimeout(toast.t); toast.t = setTimeout(() => t.classList.remove('show'), 4000); }
async function api(path, options) {
  const res = await fetch(path, options);
  const body = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
  return body;
}
function post(path, body) { return api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}) }); }

function elapsedOf(t) {
  if (t.elapsed === null || t.elapsed === undefined) return null;
  const live = t.status === 'running' || t.status === 'suspended';
  return live ? t.elapsed + (Date.now() - t._at) / 1000 : t.elapsed;
}
function fmtDuration(s) {
  if (s === null) return '';
  if (s < 60) return s.toFixed(1) + 's';
  s = Math.floor(s); const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, '0');
  return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + sec : m + ':' + sec;
}
function fmtTime(ms) { return typeof ms === 'number' ? new Date(ms).toLocaleString() : ''; }
function progressCell(t) {
  const p = t.progress; if (!p) return '';
  const frag = document.createDocumentFragment();
  if (p.total) { const bar = el('span', { class: 'bar' }); const fill = el('i'); fill.style.width = Math.min(100, Math.floor(100 * p.done / p.total)) + '%'; bar.append(fill); frag.append(bar, p.done + '/' + p.total); }
  else frag.append(String(p.done));
  if (p.message) frag.append(' ' + p.message);
  return frag;
}
function remember(t) { t._at = Date.now(); st.tasks.set(t.id, t); }

function renderCounts(counts) {
  const box = $('counts'); box.replaceChildren();
  const total = STATES.reduce((n, s) => n + (counts[s] || 0), 0);
  const chip = (label, n, state) => {
    const b = el('button', { class: 'chip' + (st.filter === state ? ' active' : ''), 'data-state': state || 'all' }, el('b', { text: String(n), class: state ? 's-' + state : '' }), label);
    b.onclick = () => { st.filter = state; loadList(); refreshCounts(); };
    return b;
  };
  box.append(chip('all', total, null));
  for (const s of STATES) if (s !== 'creating' || counts[s]) box.append(chip(s, counts[s] || 0, s));
}
function renderTable() {
  const body = $('rows'); body.replaceChildren();
  const tasks = [...st.tasks.values()].sort((a, b) => b.id - a.id);
  $('empty').style.display = tasks.length ? 'none' : 'block';
  for (const t of tasks) {
    const tr = el('tr', { 'data-id': String(t.id), class: st.selected === t.id ? 'selected' : '' },
      el('td', { class: 'num', text: String(t.id) }),
      el('td', { class: 'cmd', text: t.command || '', title: t.command || '' }),
      el('td', { class: 'status s-' + t.status, text: t.status }),
      el('td', null, progressCell(t)),
      el('td', { class: 'num elapsed', text: fmtDuration(elapsedOf(t)) }),
      el('td', { text: t.worker || '' }));
    tr.onclick = () => { location.hash = 'task=' + t.id; };
    body.append(tr);
  }
  $('listTitle').textContent = (st.filter ? st.filter + ' tasks' : 'Recent tasks') + ' (newest ' + LIMIT + ')';
}

async function refreshCounts() { try { renderCounts(await api('/api/counts')); } catch (e) { toast(e.message); } }
async function loadList() {
  const q = new URLSearchParams({ order: 'desc', limit: String(LIMIT) });
  if (st.filter) q.set('status', st.filter);
  try {
    const { tasks } = await api('/api/tasks?' + q);
    st.tasks = new Map(); for (const t of tasks) remember(t);
    renderTable();
  } catch (e) { toast(e.message); }
}

// Status events name ids; the rows they touch (and new tasks) are read back in one request.
function touched(ids) {
  const shown = [...st.tasks.keys()];
  const lowest = shown.length >= LIMIT ? Math.min(...shown) : 0;
  for (const id of ids) if (st.tasks.has(id) || id > lowest) st.dirty.add(id);
  if (st.selected !== null && ids.includes(st.selected)) st.detailDirty = true;
  clearTimeout(st.timer); st.timer = setTimeout(flush, 250);
}
async function flush() {
  const ids = [...st.dirty].sort((a, b) => b - a).slice(0, 500); st.dirty.clear();
  try {
    if (ids.length) {
      const { tasks } = await api('/api/tasks?ids=' + ids.join(','));
      const found = new Set(tasks.map((t) => t.id));
      for (const id of ids) if (!found.has(id)) st.tasks.delete(id);
      for (const t of tasks) { if (st.filter && t.status !== st.filter) st.tasks.delete(t.id); else remember(t); }
      const sorted = [...st.tasks.keys()].sort((a, b) => b - a);
      for (const id of sorted.slice(LIMIT)) st.tasks.delete(id);
      renderTable();
    }
    if (st.detailDirty) { st.detailDirty = false; await loadDetail(false); }
    await refreshCounts();
  } catch (e) { toast(e.message); }
}

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('ready', () => { $('live').classList.add('on'); $('live').textContent = 'live'; loadList(); refreshCounts(); });
  es.addEventListener('task_status', (e) => { const { ids } = JSON.parse(e.data); touched(ids); });
  es.onerror = () => { $('live').classList.remove('on'); $('live').textContent = 'reconnecting…'; };
}

// ---- detail ---------------------------------------------------------------------------
function closeDetail() {
  if (st.taskEvents) st.taskEvents.close();
  st.taskEvents = null; st.selected = null; st.detail = null;
  $('detail').style.display = 'none'; $('main').classList.remove('with-detail');
  renderTable();
}
function openDetail(id) {
  if (st.taskEvents) st.taskEvents.close();
  st.selected = id; st.detail = null; st.got = {}; st.decoders = {}; st.nextSeq = 0;
  $('out').replaceChildren(); $('fields').replaceChildren();
  $('detail').style.display = 'block'; $('main').classList.add('with-detail');
  $('detailTitle').textContent = 'Task ' + id;
  renderTable();
  const es = new EventSource('/api/events?task=' + id);
  st.taskEvents = es;
  // Subscribed first, then the stored output is read: nothing written in between is lost.
  es.addEventListener('ready', () => { loadDetail(true); });
  es.addEventListener('task_output', (e) => { const c = JSON.parse(e.data); if (c.id === st.selected) appendChunk(c); });
  es.addEventListener('task_progress', (e) => {
    const p = JSON.parse(e.data); if (p.id !== st.selected) return;
    const t = st.tasks.get(p.id); if (t) { t.progress = { done: p.done, total: p.total, message: p.message }; renderTable(); }
    if (st.detail) { st.detail.progress = { done: p.done, total: p.total, message: p.message }; renderDetail(); }
  });
}
function b64bytes(s) { const bin = atob(s); const out = new Uint8Array(bin.length); for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i); return out; }
function appendChunk(c) {
  if (c.stream !== 'stdout' && c.stream !== 'stderr' && c.stream !== 'log') return;
  let bytes = b64bytes(c.data);
  const got = st.got[c.stream] || 0;
  if (c.offset + bytes.length <= got) return;
  if (c.offset < got) bytes = bytes.subarray(got - c.offset);
  st.got[c.stream] = c.offset + b64bytes(c.data).length;
  const dec = st.decoders[c.stream] || (st.decoders[c.stream] = new TextDecoder());
  const text = dec.decode(bytes, { stream: true });
  const out = $('out');
  const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
  out.append(c.stream === 'stdout' ? document.createTextNode(text) : el('span', { class: c.stream, text }));
  if (atEnd) out.scrollTop = out.scrollHeight;
}
async function loadDetail(withOutput) {
  const id = st.selected; if (id === null) return;
  try {
    const t = await api('/api/tasks/' + id);
    if (id !== st.selected) return;
    t._at = Date.now(); st.detail = t; renderDetail();
    const out = await api('/api/tasks/' + id + '/output?since=' + (st.nextSeq || 0));
    if (id !== st.selected) return;
    for (const c of out.chunks) appendChunk(c);
    st.nextSeq = out.next;
  } catch (e) { toast(e.message); if (/no task/.test(e.message)) closeDetail(); }
}
function errorText(err) {
  if (!err) return '';
  if (typeof err !== 'object') return String(err);
  return (err.name || 'Error') + ': ' + (err.message || '') + (err.exitCode !== undefined ? ' (exit ' + err.exitCode + ')' : '') + (err.signal ? ' [' + err.signal + ']' : '');
}
function renderDetail() {
  const t = st.detail; if (!t) return;
  const dl = $('fields'); dl.replaceChildren();
  const row = (k, v) => { if (v === null || v === undefined || v === '') return; dl.append(el('dt', { text: k }), el('dd', null, v)); };
  row('status', el('span', { class: 'status s-' + t.status, text: t.status }));
  row('command', t.command);
  row('name', t.name);
  row('progress', progressCell(t));
  row('elapsed', fmtDuration(elapsedOf(t)));
  row('worker', t.worker);
  row('user', t.user);
  row('cwd', t.cwd);
  row('priority', String(t.priority ?? ''));
  row('attempt', t.attempt ? String(t.attempt) + (t.retryCount ? ' (retried ' + t.retryCount + ')' : '') : '');
  row('dependencies', (t.dependencies || []).join(', '));
  row('parent', t.parent ? String(t.parent) : '');
  row('created', fmtTime(t.createdAt));
  row('started', fmtTime(t.startedAt));
  row('finished', fmtTime(t.finishedAt));
  row('reason', t.reason);
  if (t.status === 'success' && t.result !== undefined && t.result !== null) row('result', JSON.stringify(t.result));
  row('error', errorText(t.error));
  const live = !['success', 'error', 'killed'].includes(t.status);
  $('kill').disabled = !live;
  $('retry').disabled = !(t.status === 'error' || t.status === 'killed' || t.status === 'success');
  $('retry').textContent = t.status === 'success' ? 'Run again' : 'Retry';
}
async function act(what) {
  const id = st.selected; if (id === null) return;
  try {
    if (what === 'kill') await post('/api/tasks/' + id + '/kill', {});
    if (what === 'retry') { await post('/api/tasks/' + id + '/retry', { includeSuccess: st.detail && st.detail.status === 'success' }); $('out').replaceChildren(); st.got = {}; st.decoders = {}; st.nextSeq = 0; }
    if (what === 'delete') { if (!confirm('Remove task ' + id + ' and its output?')) return; await api('/api/tasks/' + id, { method: 'DELETE' }); location.hash = ''; st.tasks.delete(id); renderTable(); refreshCounts(); return; }
    await loadDetail(false);
  } catch (e) { toast(e.message); }
}
function route() {
  const m = /^#task=(\\d+)$/.exec(location.hash);
  if (m) openDetail(Number(m[1])); else if (st.selected !== null) closeDetail();
}

$('kill').onclick = () => act('kill');
$('retry').onclick = () => act('retry');
$('delete').onclick = () => act('delete');
$('closeDetail').onclick = () => { location.hash = ''; };
window.addEventListener('hashchange', route);
setInterval(() => {
  for (const tr of $('rows').children) { const t = st.tasks.get(Number(tr.dataset.id)); if (t && (t.status === 'running' || t.status === 'suspended')) tr.querySelector('.elapsed').textContent = fmtDuration(elapsedOf(t)); }
  if (st.detail && (st.detail.status === 'running' || st.detail.status === 'suspended')) renderDetail();
}, 1000);
api('/api/info').then((i) => { $('broker').textContent = i.broker; document.title = 'aque · ' + i.broker; }).catch((e) => toast(e.message));
// Shown at once, even where event streams cannot get through; 'ready' reloads after a reconnect.
loadList();
refreshCounts();
connect();
route();
`

/** The page, complete. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aque</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>aque</h1><span class="broker" id="broker"></span><span class="live" id="live">connecting…</span></header>
<main id="main">
  <section id="counts" aria-label="tasks by state"></section>
  <section class="card">
    <h2 id="listTitle">Recent tasks</h2>
    <table>
      <thead><tr><th class="num">ID</th><th>NAME</th><th>STATUS</th><th>PROGRESS</th><th class="num">ELAPSED</th><th>WORKER</th></tr></thead>
      <tbody id="rows"></tbody>
    </table>
    <div class="empty" id="empty">No tasks yet. Submit one: <code>aque submit echo hello</code></div>
  </section>
  <section class="card" id="detail" style="display:none">
    <h2><span id="detailTitle">Task</span><button class="close" id="closeDetail" title="close">×</button></h2>
    <dl id="fields"></dl>
    <div class="actions">
      <button class="act danger" id="kill">Kill</button>
      <button class="act" id="retry">Retry</button>
      <button class="act danger" id="delete">Remove</button>
    </div>
    <pre id="out" aria-label="output"></pre>
  </section>
</main>
<div id="toast" role="status"></div>
<script>${SCRIPT}</script>
</body>
</html>
`
