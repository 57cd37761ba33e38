// The grid worker's phone: my grid's open cases, nearest first; accept, start, resolve with a
// photo and a note; verify another worker's fix on site (核查) with a photo, or refuse it with a
// reason; report what the round finds (report.js); the round's track (track.js). Steps and
// reports taken without a signal wait in the phone's queue (queue.js) and go out once, in order.
import '../common/style.css';
import { call, el, formatSpan, liveEvents, loadCatalog, shrinkPhoto, takeToken } from '../common/api.js';
import { categoryName, lang, setLang, stateName, t } from '../common/i18n.js';
import { signIn } from '../common/login.js';
import { createQueue, toDataUrl } from './queue.js';
import { createTrack } from './track.js';
import { reportForm } from './report.js';

const token = takeToken('worker');
const root = document.getElementById('root');
const DONE = ['resolved', 'closed', 'cancelled', 'duplicate'];
// The state a queued step leads to, shown on its card until it is sent.
const AFTER = { accept: 'accepted', start: 'in_progress', resolve: 'resolved', verify: 'closed', refuse: 'reopened' };
// The steps that open a form on the card (a note, a photo, a reason) instead of going at once.
const WITH_FORM = ['resolve', 'verify', 'refuse'];

const w = { cases: [], position: null, errors: [], reports: [] };
const forms = new Map(); // `${case id}/${action}` -> its form (outlives re-renders)
window.gridwatch = w;

const queue = createQueue(w, {
  onChange: () => { renderCases(); if (navigator.onLine) scheduleRefresh(); },
  onRefused: (item, message) => {
    const what = item.kind === 'report' ? t('report_problem') : t(item.action);
    w.errors.push(`${categoryName(w.catalog, item.category)} · ${what}: ${t('refused')} — ${message}`);
  },
  onSent: (item, answer) => { if (item.kind === 'report') w.reports.push(answer); },
});
const track = createTrack(w);
w.queued = () => queue.all();
w.track = () => track.kept();

async function boot() {
  document.body.className = 'layout-phone';
  // No signal at start: work from what the phone kept.
  const who = await signIn(token, root, t('worker_title'), boot, () => JSON.parse(localStorage.getItem('gw.worker.me') || 'null'));
  if (!who) return;
  w.me = who.me;
  localStorage.setItem('gw.worker.me', JSON.stringify(w.me));
  w.token = who.token;
  try {
    w.catalog = await loadCatalog();
    localStorage.setItem('gw.worker.catalog', JSON.stringify([...w.catalog]));
  } catch {
    w.catalog = new Map(JSON.parse(localStorage.getItem('gw.worker.catalog') || '[]'));
  }
  watchPosition();
  addEventListener('online', () => { queue.flush(); track.flush(); refresh(); });
  setInterval(queue.flush, 10_000);
  liveEvents(w.token, () => scheduleRefresh(), (s) => { w.live = s; renderHeader(); });
  render();
  await queue.flush();
  await refresh();
}

function watchPosition() {
  if (!navigator.geolocation) return;
  let lastSent = 0;
  navigator.geolocation.watchPosition(async (pos) => {
    const first = !w.position;
    w.position = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy_m: pos.coords.accuracy ?? null };
    track.add({ ...w.position, timestamp: pos.timestamp });
    if (first) { refresh(); renderReport(); }
    if (Date.now() - lastSent < 60_000) return;
    lastSent = Date.now();
    try {
      // The center dispatches new cases to the nearest worker on duty who reported lately.
      await call(`/api/v1/workers/${encodeURIComponent(w.me.name)}/position`, { token: w.token, method: 'PUT', body: { lon: w.position.lon, lat: w.position.lat, on_duty: true } });
    } catch (e) {
      if (!(e instanceof TypeError)) console.warn(`position not reported: ${e.message}`);
    }
  }, () => {}, { enableHighAccuracy: true, maximumAge: 30_000 });
}

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 300);
}

let refreshes = 0;
async function refresh() {
  const q = w.position ? `&near=${w.position.lon},${w.position.lat}&radius_m=50000` : '';
  // Only the latest list counts: an answer asked for before the position was known must not
  // replace the nearest-first one that came back sooner.
  const mine = ++refreshes;
  try {
    const fc = await call(`/api/v1/orders?status=open${q}`, { token: w.token });
    if (mine !== refreshes) return;
    w.cases = fc.features.filter((f) => !DONE.includes(f.properties.state));
    localStorage.setItem('gw.worker.cases', JSON.stringify(w.cases));
    w.offline = false;
  } catch (e) {
    if (!(e instanceof TypeError)) return showError(e.message);
    w.offline = true;
    w.cases = JSON.parse(localStorage.getItem('gw.worker.cases') || '[]');
  }
  renderCases();
}

// ---- page ----------------------------------------------------------------------------------

function render() {
  document.title = t('worker_title');
  root.replaceChildren(el('div', { class: 'phone-page' }, el('header', { id: 'header' }), el('div', { id: 'messages' }),
    el('section', { id: 'report' }), el('main', { id: 'cases' })));
  renderHeader();
  renderReport();
  renderCases();
}

function renderHeader() {
  const h = document.getElementById('header');
  if (!h) return;
  h.replaceChildren(el('div', { class: 'row' },
    el('h1', { class: 'grow' }, `${t('worker_title')} · ${w.me.name}`),
    el('span', { class: `badge ${w.live === 'live' ? 'live' : 'late'}` }, t(w.live === 'live' ? 'live' : 'offline')),
    el('button', { onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); render(); } }, lang() === 'zh' ? 'EN' : '中文'),
    el('button', { onclick: () => { token.clear(); location.reload(); } }, t('logout'))),
  el('div', { class: 'muted' }, `${t('grid')} ${w.me.grid || ''} · ${w.position ? t('nearest_first') : t('position_unknown')}`),
  el('button', { id: 'report-toggle', onclick: () => { w.reporting = !w.reporting; renderReport(); } }, t('report_problem')));
}

function renderReport() {
  const box = document.getElementById('report');
  if (!box) return;
  box.replaceChildren(...(w.reporting && w.catalog ? [reportForm(w, (item) => { w.reporting = false; renderReport(); queue.add(item); })] : []));
}

function showError(text) {
  w.errors.push(text);
  renderCases();
}

function renderCases() {
  const box = document.getElementById('cases');
  if (!box) return;
  const pendingByCase = new Map();
  for (const i of queue.all()) if (i.kind !== 'report') pendingByCase.set(i.case_id, i);
  const reportsQueued = queue.all().filter((i) => i.kind === 'report').length;
  const msgs = document.getElementById('messages');
  msgs.replaceChildren(...w.errors.map((m, k) => el('div', { class: 'banner error-banner' }, m, ' ', el('button', { onclick: () => { w.errors.splice(k, 1); renderCases(); } }, '×'))),
    ...(w.offline ? [el('div', { class: 'banner' }, t('offline'))] : []),
    ...(reportsQueued ? [el('div', { class: 'banner', id: 'reports-queued' }, `${t('report_problem')}: ${reportsQueued} ${t('queued')}`)] : []),
    ...w.reports.slice(-3).map((r) => el('div', { class: 'banner report-sent' }, `${t('report_sent')}: ${r.case_id}`)));
  if (!w.cases.length) return box.replaceChildren(el('p', { class: 'muted' }, t('no_cases')));
  box.replaceChildren(...w.cases.map((f) => caseCard(f, pendingByCase.get(f.id))));
}

// The form of a step that needs more than a tap: resolve (a note, a photo if any), verify (a photo
// of the place as it is now), refuse (what is not fixed).
function stepForm(f, action) {
  const key = `${f.id}/${action}`;
  let form = forms.get(key);
  if (form) return form;
  const note = el('textarea', { name: 'note', placeholder: t(action === 'refuse' ? 'reason' : 'note'), required: action === 'refuse' });
  const photo = el('input', { type: 'file', name: 'photo', accept: 'image/*', capture: 'environment', required: action === 'verify' });
  const photoLabel = action === 'verify' ? `${t('photo')} (${t('photo_required')})` : `${t('photo')} (${t('optional')})`;
  form = el('div', { class: `step-form ${action}-form hidden` }, el('form', { class: 'report', onsubmit: async (e) => {
    e.preventDefault();
    const data = photo.files[0] ? [await toDataUrl(await shrinkPhoto(photo.files[0]))] : [];
    forms.delete(key);
    queue.add({ case_id: f.id, category: f.properties.category, action, note: note.value, photos_data: data });
  } }, el('label', {}, t(action === 'refuse' ? 'reason' : 'note'), note),
  action === 'refuse' ? null : el('label', {}, photoLabel, photo),
  el('button', { class: 'primary', type: 'submit' }, t(action))));
  forms.set(key, form);
  return form;
}

function caseCard(f, queued) {
  const p = f.properties;
  const state = queued ? AFTER[queued.action] || p.state : p.state;
  const due = p.resolve_due && !p.resolved_at ? new Date(p.resolve_due).getTime() - Date.now() : null;
  // The steps the center says this worker may take now (the lifecycle's table and the role); a
  // fix of one's own is verified by someone else.
  const own = p.assignee === w.me.name || (p.verification && p.verification.resolved_by === w.me.name);
  const steps = queued ? [] : (p.allowed_actions || []).filter((a) => !(own && (a === 'verify' || a === 'refuse')));
  const stepForms = steps.filter((a) => WITH_FORM.includes(a)).map((a) => stepForm(f, a));
  return el('article', { class: 'card', dataset: { id: f.id, state } },
    el('h3', {}, categoryName(w.catalog, p.category)),
    el('div', { class: 'row' },
      el('span', { class: 'badge state' }, stateName(state)),
      queued ? el('span', { class: 'badge queued' }, t('queued')) : null,
      p.distance_m !== undefined ? el('span', { class: 'muted' }, `${t('distance')} ${Math.round(p.distance_m)} m`) : null,
      due !== null ? el('span', { class: `badge ${due < 0 ? 'late' : ''}` }, due < 0 ? `${t('late')} ${formatSpan(due)}` : `${formatSpan(due)} ${t('remaining')}`) : null),
    p.state === 'verifying' && own ? el('div', { class: 'muted' }, t('own_work')) : null,
    p.state === 'verifying' && p.verification && p.verification.verifier ? el('div', { class: 'muted' }, `${t('verifier')}: ${p.verification.verifier}`) : null,
    p.address ? el('div', {}, p.address) : null,
    p.description ? el('div', { class: 'muted' }, p.description) : null,
    el('div', { class: 'muted' }, p.id),
    el('div', { class: 'actions' },
      ...steps.map((a) => el('button', { class: a === 'resolve' || a === 'verify' ? 'primary' : '', dataset: { action: a },
        onclick: () => (WITH_FORM.includes(a) ? stepForm(f, a).classList.toggle('hidden') : queue.add({ case_id: f.id, category: p.category, action: a })) }, t(a)))),
    ...stepForms);
}

boot().catch((e) => {
  console.error(e);
  root.replaceChildren(el('p', { class: 'error' }, `${t('error')}: ${e.message}`));
});
