// The grid worker's phone: my grid's open cases, nearest first; accept, start, resolve with a
// photo and a note. Steps taken without a signal wait in a queue on the phone (localStorage) and
// go out in order when it returns; each carries a request_id, so a step whose answer was lost is
// answered again by the center instead of being taken twice.
import '../common/style.css';
import { call, dataUrlToBlob, el, formatSpan, liveEvents, loadCatalog, randomId, shrinkPhoto, takeToken, ApiError } from '../common/api.js';
import { categoryName, lang, setLang, stateName, t } from '../common/i18n.js';
import { signIn } from '../common/login.js';

const token = takeToken('worker');
const root = document.getElementById('root');
const QUEUE = 'gw.worker.queue';
const DONE = ['resolved', 'closed', 'cancelled', 'duplicate'];
// The step a worker takes next, by state.

const w = { cases: [], position: null, errors: [] };
const resolveForms = new Map(); // case id -> its resolve form
window.gridwatch = w;

const queue = {
  all: () => JSON.parse(localStorage.getItem(QUEUE) || '[]'),
  save: (items) => localStorage.setItem(QUEUE, JSON.stringify(items)),
};
w.queued = () => queue.all();

async function boot() {
  document.body.className = 'layout-phone';
  // No signal at start: work from what the phone kept.
  const who = await signIn(token, root, t('worker_title'), boot, () => JSON.parse(localStorage.getItem('gw.worker.me') || 'null'));
  if (!who) return;
  w.me = who.me;
  const tok = who.token;
  localStorage.setItem('gw.worker.me', JSON.stringify(w.me));
  w.token = tok;
  try {
    w.catalog = await loadCatalog();
    localStorage.setItem('gw.worker.catalog', JSON.stringify([...w.catalog]));
  } catch {
    w.catalog = new Map(JSON.parse(localStorage.getItem('gw.worker.catalog') || '[]'));
  }
  watchPosition();
  addEventListener('online', () => { flushQueue(); refresh(); });
  setInterval(flushQueue, 10_000);
  liveEvents(w.token, () => scheduleRefresh(), (s) => { w.live = s; renderHeader(); });
  render();
  await flushQueue();
  await refresh();
}

function watchPosition() {
  if (!navigator.geolocation) return;
  let lastSent = 0;
  navigator.geolocation.watchPosition(async (pos) => {
    const first = !w.position;
    w.position = { lon: pos.coords.longitude, lat: pos.coords.latitude };
    if (first) refresh();
    if (Date.now() - lastSent < 60_000) return;
    lastSent = Date.now();
    try {
      // The center dispatches new cases to the nearest worker on duty who reported lately.
      await call(`/api/v1/workers/${encodeURIComponent(w.me.name)}/position`, { token: w.token, method: 'PUT', body: { ...w.position, on_duty: true } });
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

// ---- the queue ---------------------------------------------------------------------------

function enqueue(item) {
  const items = queue.all();
  items.push({ request_id: randomId(), queued_at: new Date().toISOString(), ...item });
  queue.save(items);
  renderCases();
  flushQueue();
}

let flushing = false;
async function flushQueue() {
  if (flushing) return;
  flushing = true;
  try {
    for (;;) {
      const items = queue.all();
      if (!items.length) break;
      const item = items[0];
      try {
        if (item.photo && !item.photo_url) {
          // The photo first; its URL is kept with the step so a retry does not upload it again.
          const blob = dataUrlToBlob(item.photo);
          const up = await call('/api/v1/media', { token: w.token, method: 'POST', body: blob, headers: { 'Content-Type': blob.type } });
          item.photo_url = up.url;
          delete item.photo;
          queue.save([item, ...queue.all().slice(1)]);
        }
        await call(`/api/v1/orders/${encodeURIComponent(item.case_id)}/actions`, {
          token: w.token, method: 'POST',
          body: { action: item.action, reason: item.note || '', request_id: item.request_id, photo_url: item.photo_url || '' },
        });
      } catch (e) {
        if (e instanceof TypeError || (e instanceof ApiError && e.status >= 500)) break; // no signal: later
        // Refused (the case moved on, another grid's): tell the worker, drop the step.
        w.errors.push(`${categoryName(w.catalog, item.category)} · ${t(item.action)}: ${t('refused')} — ${e.message}`);
      }
      queue.save(queue.all().filter((i) => i.request_id !== item.request_id));
    }
  } finally {
    flushing = false;
  }
  renderCases();
  if (navigator.onLine) scheduleRefresh();
}

// ---- page ----------------------------------------------------------------------------------

function render() {
  document.title = t('worker_title');
  root.replaceChildren(el('div', { class: 'phone-page' }, el('header', { id: 'header' }), el('div', { id: 'messages' }), el('main', { id: 'cases' })));
  renderHeader();
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
  el('div', { class: 'muted' }, `${t('grid')} ${w.me.grid || ''} · ${w.position ? t('nearest_first') : t('position_unknown')}`));
}

function showError(text) {
  w.errors.push(text);
  renderCases();
}

function renderCases() {
  const box = document.getElementById('cases');
  if (!box) return;
  const pendingByCase = new Map();
  for (const i of queue.all()) pendingByCase.set(i.case_id, i);
  const msgs = document.getElementById('messages');
  msgs.replaceChildren(...w.errors.map((m, k) => el('div', { class: 'banner error-banner' }, m, ' ', el('button', { onclick: () => { w.errors.splice(k, 1); renderCases(); } }, '×'))),
    ...(w.offline ? [el('div', { class: 'banner' }, t('offline'))] : []));
  if (!w.cases.length) return box.replaceChildren(el('p', { class: 'muted' }, t('no_cases')));
  box.replaceChildren(...w.cases.map((f) => caseCard(f, pendingByCase.get(f.id))));
}

function caseCard(f, queued) {
  const p = f.properties;
  // While a step waits in the queue, the card shows the state it will lead to.
  const state = queued ? { accept: 'accepted', start: 'in_progress', resolve: 'resolved' }[queued.action] : p.state;
  const due = p.resolve_due && !p.resolved_at ? new Date(p.resolve_due).getTime() - Date.now() : null;
  // The steps the center says this worker may take now (the lifecycle's table and the role).
  const steps = queued ? [] : p.allowed_actions || [];
  // The resolve form outlives re-renders (a live event must not wipe a note being typed).
  let form = resolveForms.get(f.id);
  if (!form) resolveForms.set(f.id, (form = el('div', { class: 'resolve-form hidden' })));
  const card = el('article', { class: 'card', dataset: { id: f.id } },
    el('h3', {}, categoryName(w.catalog, p.category)),
    el('div', { class: 'row' },
      el('span', { class: 'badge state' }, stateName(state)),
      queued ? el('span', { class: 'badge queued' }, t('queued')) : null,
      p.distance_m !== undefined ? el('span', { class: 'muted' }, `${t('distance')} ${Math.round(p.distance_m)} m`) : null,
      due !== null ? el('span', { class: `badge ${due < 0 ? 'late' : ''}` }, due < 0 ? `${t('late')} ${formatSpan(due)}` : `${formatSpan(due)} ${t('remaining')}`) : null),
    p.address ? el('div', {}, p.address) : null,
    p.description ? el('div', { class: 'muted' }, p.description) : null,
    el('div', { class: 'muted' }, p.id),
    el('div', { class: 'actions' },
      ...steps.map((a) => el('button', { class: a === 'resolve' ? 'primary' : '', dataset: { action: a },
        onclick: () => (a === 'resolve' ? form.classList.toggle('hidden') : enqueue({ case_id: f.id, category: p.category, action: a })) }, t(a)))),
    form);
  if (steps.includes('resolve') && !form.firstChild) {
    const note = el('textarea', { name: 'note', placeholder: t('note') });
    const photo = el('input', { type: 'file', name: 'photo', accept: 'image/*', capture: 'environment' });
    form.append(el('form', { class: 'report', onsubmit: async (e) => {
      e.preventDefault();
      let data = null;
      if (photo.files[0]) {
        const blob = await shrinkPhoto(photo.files[0]);
        data = await new Promise((ok) => { const r = new FileReader(); r.onload = () => ok(r.result); r.readAsDataURL(blob); });
      }
      resolveForms.delete(f.id);
      enqueue({ case_id: f.id, category: p.category, action: 'resolve', note: note.value, photo: data });
    } }, el('label', {}, t('note'), note), el('label', {}, `${t('photo')} (${t('optional')})`, photo), el('button', { class: 'primary', type: 'submit' }, t('resolve'))));
  }
  return card;
}

boot().catch((e) => {
  console.error(e);
  root.replaceChildren(el('p', { class: 'error' }, `${t('error')}: ${e.message}`));
});
