// The district control center's wall map: every open case live, filters, the case panel with
// its sources, timeline, SLA and the dispatcher's actions, and the drill-down city -> district ->
// street -> grid with the three rates.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import '../common/style.css';
import { call, el, formatSpan, formatTime, liveEvents, loadCatalog, takeToken, ApiError } from '../common/api.js';
import { categoryName, lang, setLang, stateName, t, STATES } from '../common/i18n.js';
import { mapCoords, wgs84ToGcj02 } from '../common/gcj02.js';
import { caseIcons, STATE_COLORS } from './icons.js';
import { signIn } from '../common/login.js';

const token = takeToken('center');
const root = document.getElementById('root');

const SOURCES = ['hotline', 'camera', 'sensor'];
// The map shows open problems whose work is not over: closed, cancelled and duplicate cases are off it.
const OPEN_WORK = STATES.filter((s) => !['closed', 'cancelled', 'duplicate'].includes(s));


function layoutFor(width) {
  const q = new URLSearchParams(location.search).get('layout');
  if (['wall', 'desk', 'phone'].includes(q)) return q;
  if (width >= 2400) return 'wall';
  return width >= 900 ? 'desk' : 'phone';
}

const gw = {
  cases: new Map(), // id -> GeoJSON feature (WGS-84, the map's few properties)
  filters: { categories: new Set(), states: new Set(), sources: new Set(SOURCES), overdue: false, proactive: false },
  area: null, // the drill-down's selected area {code, name, level, level_name}
  periodDays: 30,
  live: 'reconnecting',
  lastEventAt: 0,
  marks: {}, // performance.now() at each step of the first load
  panelLoads: 0, // the case panel's loads so far: only the latest one is shown
};
const mark = (name) => { gw.marks[name] = Math.round(performance.now()); };
window.gridwatch = gw; // for tests and for the curious operator's console

async function boot() {
  const who = await signIn(token, root, t('title'), boot);
  if (!who) return;
  gw.token = who.token;
  gw.me = who.me;
  mark('signed_in');
  [gw.config, gw.catalog] = await Promise.all([call('/web/config.json'), loadCatalog()]);
  gw.shift = gw.config.tiles && gw.config.tiles.crs === 'gcj02' ? (g) => mapCoords(g, wgs84ToGcj02) : (g) => g;
  document.body.className = `layout-${layoutFor(innerWidth)}`;
  addEventListener('resize', () => { document.body.className = `layout-${layoutFor(innerWidth)}`; gw.map && gw.map.resize(); });
  render();
}

// ---- page ------------------------------------------------------------------------------

function render() {
  document.title = t('title');
  root.replaceChildren(
    el('div', { class: 'app' },
      el('header', { class: 'topbar' },
        el('h1', {}, t('title')),
        el('span', { class: 'badge', id: 'live' }, t(gw.live)),
        el('span', { class: 'muted', id: 'count' }),
        el('span', { class: 'grow' }),
        el('span', { class: 'muted wide' }, gw.me.name),
        el('select', { id: 'layout', class: 'wide', onchange: (e) => { const u = new URL(location); u.searchParams.set('layout', e.target.value); history.replaceState(null, '', u); document.body.className = `layout-${e.target.value}`; gw.map.resize(); } },
          ...['wall', 'desk', 'phone'].map((l) => el('option', { value: l, selected: document.body.className === `layout-${l}` }, t(l)))),
        el('button', { id: 'lang', onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); rerender(); } }, lang() === 'zh' ? 'EN' : '中文'),
        el('button', { onclick: () => { token.clear(); location.reload(); } }, t('logout'))),
      el('aside', { class: 'side' },
        el('section', { id: 'drill' }),
        el('section', { class: 'filters', id: 'filters' })),
      el('main', { class: 'mapwrap' },
        el('div', { id: 'map' }),
        el('div', { class: 'legend', id: 'legend' }),
        el('div', { class: 'panel hidden', id: 'panel' }))));
  renderFilters();
  renderLegend();
  startMap();
}

// Language switch: the map stays, the words change.
function rerender() {
  const map = gw.map;
  const mapEl = document.getElementById('map');
  document.title = t('title');
  document.querySelector('.topbar h1').textContent = t('title');
  document.getElementById('lang').textContent = lang() === 'zh' ? 'EN' : '中文';
  setLive(gw.live);
  renderFilters();
  renderLegend();
  renderDrill();
  if (gw.panelId) openPanel(gw.panelId);
  if (map && mapEl) map.resize();
}

function renderLegend() {
  const shown = ['new', 'dispatched', 'accepted', 'in_progress', 'resolved'];
  document.getElementById('legend').replaceChildren(
    ...shown.map((s) => el('div', {}, el('span', { class: 'dot', style: `background:${STATE_COLORS[s]}` }), stateName(s))),
    el('div', {}, el('span', { class: 'dot', style: 'background:transparent;border:2px solid #ef5350' }), t('late')));
}

function renderFilters() {
  const f = gw.filters;
  const box = (set, value, label) => el('label', {}, el('input', { type: 'checkbox', checked: set.has(value), onchange: (e) => { e.target.checked ? set.add(value) : set.delete(value); redraw(); } }), label);
  document.getElementById('filters').replaceChildren(
    el('h2', {}, t('filters')),
    el('div', {}, el('div', { class: 'muted' }, t('source')), ...SOURCES.map((s) => box(f.sources, s, t(s)))),
    el('div', {},
      el('label', {}, el('input', { type: 'checkbox', id: 'f-overdue', checked: f.overdue, onchange: (e) => { f.overdue = e.target.checked; redraw(); } }), t('overdue_only')),
      el('label', {}, el('input', { type: 'checkbox', id: 'f-proactive', checked: f.proactive, onchange: (e) => { f.proactive = e.target.checked; redraw(); } }), t('proactive_only'))),
    el('div', { class: 'muted' }, `${t('state')} (${t('all')} = ∅)`),
    el('div', {}, ...OPEN_WORK.map((s) => box(f.states, s, stateName(s)))),
    el('div', { class: 'muted' }, `${t('category')} (${t('all')} = ∅)`),
    el('div', {}, ...[...gw.catalog.keys()].map((c) => box(f.categories, c, categoryName(gw.catalog, c)))));
}

function setLive(state) {
  gw.live = state;
  const b = document.getElementById('live');
  if (b) {
    b.textContent = t(state);
    b.className = `badge ${state === 'live' ? 'live' : 'late'}`;
  }
}

// ---- map -------------------------------------------------------------------------------

function baseStyle() {
  const style = { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#0d1b2a' } }] };
  const tiles = gw.config.tiles;
  if (tiles && tiles.type === 'raster') {
    style.sources.base = { type: 'raster', tiles: [tiles.url], tileSize: 256, attribution: tiles.attribution || '' };
    style.layers.push({ id: 'base', type: 'raster', source: 'base' });
  }
  return tiles && tiles.type === 'vector' ? tiles.url : style;
}

function passes(p) {
  const f = gw.filters;
  if (f.categories.size && !f.categories.has(p.category)) return false;
  if (f.states.size && !f.states.has(p.state)) return false;
  if (!f.sources.has(p.source)) return false;
  if (f.overdue && !p.overdue) return false;
  if (f.proactive && !p.proactive) return false;
  return true;
}

let redrawQueued = false;
function redraw() {
  if (redrawQueued) return;
  redrawQueued = true;
  requestAnimationFrame(() => {
    redrawQueued = false;
    const features = [];
    for (const f of gw.cases.values()) {
      if (!f.geometry || !passes(f.properties)) continue;
      features.push({ type: 'Feature', id: f.id, geometry: gw.shift(f.geometry), properties: { ...f.properties, group: groupOf(f.properties.category) } });
    }
    gw.shown = features.length;
    const data = { type: 'FeatureCollection', features };
    const src = gw.map.getSource('cases');
    if (src) {
      src.setData(data);
      // The density layer's copy only while it is shown (50,000 cases are parsed again for it).
      gw.map.getSource('density').setData(densityShown() ? data : { type: 'FeatureCollection', features: [] });
    }
    document.getElementById('count').textContent = `${t('open_cases')}: ${features.length}`;
  });
}

function densityShown() {
  return gw.map.getLayoutProperty('density', 'visibility') === 'visible';
}

function groupOf(category) {
  return String(category).split('.')[0];
}

async function loadCases() {
  const fc = await call(`/api/v1/orders?status=open&state=${OPEN_WORK.join(',')}&fields=map`, { token: gw.token });
  gw.cases.clear();
  for (const f of fc.features) gw.cases.set(f.id, f);
  gw.loadedAt = performance.now();
  redraw();
}

async function loadAreas() {
  const fc = await call('/api/v1/areas', { token: gw.token });
  gw.areas = new Map();
  for (const f of fc.features) gw.areas.set(`${f.properties.level}:${f.id}`, f);
  const levels = [...new Set(fc.features.map((f) => f.properties.level))].sort((a, b) => a - b);
  gw.levels = levels.map((l) => ({ level: l, name: fc.features.find((f) => f.properties.level === l).properties.level_name }));
  for (const { level } of gw.levels) {
    const data = { type: 'FeatureCollection', features: fc.features.filter((f) => f.properties.level === level).map((f) => ({ ...f, geometry: gw.shift(f.geometry) })) };
    gw.map.addSource(`areas-${level}`, { type: 'geojson', data, promoteId: 'code' });
    gw.map.addLayer({ id: `areas-${level}-fill`, type: 'fill', source: `areas-${level}`, minzoom: level === 0 ? 0 : 8 + 2 * level,
      paint: { 'fill-color': '#4fc3f7', 'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.12, 0.02] } }, 'density');
    gw.map.addLayer({ id: `areas-${level}-line`, type: 'line', source: `areas-${level}`, minzoom: level === 0 ? 0 : 8 + 2 * level,
      paint: { 'line-color': level === 0 ? '#4fc3f7' : '#2b6a8f', 'line-width': level === 0 ? 1.6 : 0.7, 'line-opacity': 0.8 } }, 'density');
  }
}

function startMap() {
  const map = new maplibregl.Map({
    container: 'map', style: baseStyle(), center: [116.40, 39.91], zoom: 9.2, attributionControl: false, fadeDuration: 0,
  });
  gw.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-right');
  map.on('load', async () => {
    mark('map_loaded');
    for (const [name, img] of caseIcons()) map.addImage(name, img, { pixelRatio: 2 });
    const empty = { type: 'FeatureCollection', features: [] };
    map.addSource('density', { type: 'geojson', data: empty });
    map.addSource('cases', { type: 'geojson', data: empty, cluster: true, clusterMaxZoom: 13, clusterRadius: 42 });
    map.addLayer({ id: 'density', type: 'heatmap', source: 'density', layout: { visibility: 'none' },
      paint: { 'heatmap-radius': ['interpolate', ['linear'], ['zoom'], 8, 8, 15, 30], 'heatmap-opacity': 0.75 } });
    map.addLayer({ id: 'clusters', type: 'circle', source: 'cases', filter: ['has', 'point_count'],
      paint: { 'circle-color': '#0288d1', 'circle-opacity': 0.85, 'circle-stroke-color': '#b3e5fc', 'circle-stroke-width': 1.5,
        'circle-radius': ['step', ['get', 'point_count'], 12, 10, 16, 100, 22, 1000, 30] } });
    map.addLayer({ id: 'cases', type: 'circle', source: 'cases', filter: ['!', ['has', 'point_count']],
      paint: { 'circle-color': ['match', ['get', 'state'], ...Object.entries(STATE_COLORS).flat(), '#90a4ae'],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 7, 16, 12],
        'circle-stroke-color': ['case', ['get', 'overdue'], '#ef5350', '#0d1b2a'],
        'circle-stroke-width': ['case', ['get', 'overdue'], 3, 1] } });
    map.addLayer({ id: 'case-icons', type: 'symbol', source: 'cases', filter: ['!', ['has', 'point_count']],
      layout: { 'icon-image': ['coalesce', ['image', ['concat', 'cat-', ['get', 'group']]], ['image', 'cat-general']],
        'icon-size': ['interpolate', ['linear'], ['zoom'], 10, 0.55, 16, 0.9], 'icon-allow-overlap': true, 'icon-ignore-placement': true } });
    map.on('click', 'cases', (e) => openPanel(e.features[0].properties.id));
    map.on('click', 'clusters', async (e) => {
      const f = e.features[0];
      const zoom = await map.getSource('cases').getClusterExpansionZoom(f.properties.cluster_id);
      map.easeTo({ center: f.geometry.coordinates, zoom });
    });
    for (const id of ['cases', 'clusters']) {
      map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
    }
    map.on('idle', updateClusterLabels);
    try {
      await loadAreas();
      mark('areas');
      renderDrill();
      await loadCases();
      mark('cases');
      // Time to first map: the page's navigation to the first frame with the cases drawn.
      map.once('idle', () => { gw.firstMapAt = performance.now(); });
      gw.events = liveEvents(gw.token, onEvent, (s) => { setLive(s); if (s === 'live' && gw.wasOffline) loadCases(); gw.wasOffline = s !== 'live'; });
    } catch (e) {
      showError(e);
    }
  });
  map.on('error', (e) => console.warn('map:', e.error && e.error.message));
}

// Numbers on clusters as HTML (no glyph server on a closed network): only those in view.
const clusterMarkers = new Map();
function updateClusterLabels() {
  const map = gw.map;
  const seen = new Set();
  for (const f of map.queryRenderedFeatures({ layers: ['clusters'] })) {
    const id = f.properties.cluster_id;
    if (seen.has(id)) continue;
    seen.add(id);
    let m = clusterMarkers.get(id);
    if (!m) {
      m = new maplibregl.Marker({ element: el('div', { class: 'cluster-count' }) });
      clusterMarkers.set(id, m);
      m.setLngLat(f.geometry.coordinates).addTo(map);
    }
    m.getElement().textContent = f.properties.point_count_abbreviated;
    m.setLngLat(f.geometry.coordinates);
  }
  for (const [id, m] of clusterMarkers) if (!seen.has(id)) { m.remove(); clusterMarkers.delete(id); }
}

// What the map shows in view: cases drawn one by one plus those inside clusters.
gw.renderedCaseTotal = () => {
  let n = 0;
  const clusters = new Set();
  for (const f of gw.map.queryRenderedFeatures({ layers: ['clusters'] })) {
    if (clusters.has(f.properties.cluster_id)) continue;
    clusters.add(f.properties.cluster_id);
    n += f.properties.point_count;
  }
  const single = new Set(gw.map.queryRenderedFeatures({ layers: ['cases'] }).map((f) => f.properties.id));
  return n + single.size;
};
gw.fitAll = () => {
  const b = new maplibregl.LngLatBounds();
  for (const f of gw.cases.values()) if (f.geometry) b.extend(gw.shift(f.geometry).coordinates);
  if (!b.isEmpty()) gw.map.fitBounds(b, { padding: 60, duration: 0, maxZoom: 15 });
};
gw.hasCase = (id) => gw.cases.has(id);
gw.openCase = (id) => openPanel(id);

// ---- live events -----------------------------------------------------------------------

const pending = new Set();
let flushTimer = null;
function onEvent(ev) {
  gw.lastEventAt = Date.now();
  for (const id of [ev.case_id, ev.new_case_id]) if (id) pending.add(id);
  if (!flushTimer) flushTimer = setTimeout(flush, 150);
}

async function flush() {
  flushTimer = null;
  const ids = [...pending];
  pending.clear();
  if (ids.length > 200) return loadCases(); // a burst: one reload is cheaper
  await Promise.all(ids.map(async (id) => {
    try {
      const f = await call(`/api/v1/orders/${encodeURIComponent(id)}`, { token: gw.token });
      const p = f.properties;
      if (p.status !== 'open' || !OPEN_WORK.includes(p.state)) gw.cases.delete(f.id);
      else gw.cases.set(f.id, { type: 'Feature', id: f.id, geometry: f.geometry, properties: {
        id: p.id, category: p.category, priority: p.priority, status: p.status, state: p.state, source: p.source.kind,
        reports: p.reports, proactive: p.proactive, preempted: p.preempted, overdue: p.overdue.length > 0 } });
      if (gw.panelId === f.id) openPanel(f.id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) gw.cases.delete(id);
      else console.warn(`case ${id} not refreshed: ${e.message}`);
    }
  }));
  redraw();
  if (gw.area) loadStats();
}

// ---- case panel ------------------------------------------------------------------------

async function openPanel(id) {
  const panel = document.getElementById('panel');
  gw.panelId = id;
  const load = ++gw.panelLoads;
  panel.classList.remove('hidden');
  let f;
  try {
    f = await call(`/api/v1/orders/${encodeURIComponent(id)}`, { token: gw.token });
  } catch (e) {
    if (load === gw.panelLoads) panel.replaceChildren(el('button', { onclick: closePanel }, t('close')), el('p', { class: 'error' }, e.message));
    return;
  }
  // The panel was opened again (another case, a fresher copy of this one) or closed while this
  // answer was on its way: it is stale.
  if (load !== gw.panelLoads || gw.panelId !== id) return;
  const p = f.properties;
  const due = (label, at, done) => (at && !done ? el('div', { class: 'row' }, el('span', { class: 'muted' }, label), el('span', { class: 'badge sla', dataset: { due: at } })) : null);
  panel.replaceChildren(el('div', { class: 'panel-body' },
    el('div', { class: 'row' }, el('h1', { class: 'grow', id: 'panel-category' }, categoryName(gw.catalog, p.category)), el('button', { onclick: closePanel, id: 'panel-close' }, t('close'))),
    el('div', { class: 'muted' }, p.id),
    el('div', { class: 'row' },
      el('span', { class: 'badge', id: 'panel-state' }, stateName(p.state)),
      el('span', { class: 'badge' }, `${t('priority')}: ${p.priority}`),
      p.proactive ? el('span', { class: 'badge live' }, t('proactive_only').replace(/^.*?(主动发现|Proactive).*$/, '$1')) : null,
      p.verified_by_sensor ? el('span', { class: 'badge live' }, t('verified')) : null,
      ...p.overdue.map((o) => el('span', { class: 'badge late' }, `${t('late')}: ${o}`))),
    p.address ? el('div', {}, p.address) : null,
    f.geometry ? el('div', { class: 'muted', id: 'panel-coords' }, coordText(f.geometry)) : null,
    el('div', { class: 'muted' }, [p.unit_code, p.assignee].filter(Boolean).join(' · ')),
    due(t('respond_due'), p.respond_due, p.responded_at),
    due(t('resolve_due'), p.resolve_due, p.resolved_at),
    el('h2', {}, `${t('sources')} (${p.sources.length})`),
    el('div', { id: 'panel-sources' }, ...p.sources.map((s) => sourceView(f.id, s))),
    p.tasks.length ? el('h2', {}, t('tasks')) : null,
    ...p.tasks.map((k) => el('div', { class: 'event' }, `${k.unit}: ${k.state}`, k.note ? ` — ${k.note}` : '')),
    el('h2', {}, t('actions')),
    el('div', { class: 'actions', id: 'panel-actions' }, ...actionViews(f)),
    el('h2', {}, t('timeline')),
    el('div', { id: 'panel-timeline' }, ...p.history.slice().reverse().map(historyView))));
  tickSla();
}

// The case's position in the map's coordinate system: WGS-84, or GCJ-02 on a Chinese base map.
function coordText(geometry) {
  const [lon, lat] = gw.shift(geometry).coordinates;
  const crs = gw.config.tiles && gw.config.tiles.crs === 'gcj02' ? 'GCJ-02' : 'WGS-84';
  return `${lon.toFixed(6)}, ${lat.toFixed(6)} (${crs})`;
}

function closePanel() {
  gw.panelId = null;
  document.getElementById('panel').classList.add('hidden');
}

function sourceView(caseId, s) {
  const ev = s.evidence || {};
  const attrs = s.attributes && typeof s.attributes === 'object' ? Object.entries(s.attributes) : [];
  const kind = s.kind === 'camera' || s.kind === 'sensor' ? s.kind : 'hotline';
  return el('div', { class: `source ${kind}` },
    el('div', { class: 'row' }, el('b', {}, t(kind)), el('span', { class: 'muted' }, `${s.channel} · ${formatTime(s.reported_at)}`)),
    s.description ? el('div', { class: 'description' }, s.description) : null,
    attrs.length ? el('div', { class: 'muted' }, `${t('readings')}: `, attrs.map(([k, v]) => `${k} = ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')) : null,
    ev.snapshot_jpeg ? el('img', { class: 'snapshot', alt: t('snapshot'), src: `data:image/jpeg;base64,${ev.snapshot_jpeg}` }) : null,
    ev.clip && ev.clip.name ? clipView(caseId, ev.clip) : null,
    s.media_url ? el('a', { href: s.media_url, target: '_blank', rel: 'noopener noreferrer' }, el('img', { class: 'snapshot', alt: t('photo'), src: s.media_url })) : null);
}

// The camera's clip, fetched by the center from the agent that keeps it: played in the panel
// when it is MP4 (H.264) or WebM (VP8); a Motion-JPEG AVI (a box whose FFmpeg has neither
// encoder) is a download link.
function clipView(caseId, clip) {
  const url = `/api/v1/orders/${encodeURIComponent(caseId)}/clip?name=${encodeURIComponent(clip.name)}&access_token=${encodeURIComponent(gw.token)}`;
  const link = el('a', { href: url, target: '_blank', rel: 'noopener' }, `▶ ${t('clip')} (${clip.name})`);
  if (!/\.(mp4|webm)$/.test(clip.name)) return link;
  return el('div', { class: 'clip' },
    el('video', { class: 'snapshot', src: url, controls: true, muted: true, playsinline: true, preload: 'auto' }),
    link);
}

function historyView(h) {
  const d = h.detail || {};
  const what = [h.action, d.to ? `→ ${stateName(d.to)}` : '', d.unit ? `(${d.unit})` : '', d.reason || ''].filter(Boolean).join(' ');
  return el('div', { class: 'event' },
    el('div', { class: 'at' }, `${formatTime(h.at)} · ${h.actor || ''}`),
    el('div', {}, what),
    d.photo_url ? el('img', { class: 'snapshot', src: d.photo_url, alt: t('photo') }) : null);
}

function actionViews(f) {
  const p = f.properties;
  const may = gw.me.may;
  const out = [];
  const msg = el('div', { class: 'error', id: 'panel-error' });
  const step = async (action, extra = {}) => {
    msg.textContent = '';
    try {
      await call(`/api/v1/orders/${encodeURIComponent(f.id)}/actions`, { token: gw.token, method: 'POST', body: { action, reason: extra.reason || '', unit: extra.unit || '' } });
      await openPanel(f.id);
    } catch (e) {
      msg.textContent = e.message;
    }
  };
  // The steps the center says this token may take now (the lifecycle's table and the role).
  const allowed = p.allowed_actions || [];
  const simple = allowed.filter((a) => a !== 'dispatch');
  if (allowed.includes('dispatch')) {
    const unit = el('input', { placeholder: `${t('unit')} (${t('optional')})`, name: 'unit' });
    out.push(el('form', { id: 'form-dispatch', onsubmit: (e) => { e.preventDefault(); step('dispatch', { unit: unit.value.trim() }); } },
      el('div', { class: 'row' }, unit, el('button', { class: 'primary', type: 'submit' }, t('dispatch')))));
  }
  if (simple.length)
    out.push(el('div', { class: 'row' }, ...simple.map((a) => el('button', { class: ['cancel', 'mark_duplicate', 'reject'].includes(a) ? 'danger' : '', dataset: { action: a }, onclick: () => step(a, { reason: prompt(t('reason')) || '' }) }, t(a === 'close' ? 'close_case' : a)))));
  if (['accepted', 'in_progress'].includes(p.state) && may.summon) {
    const units = el('input', { placeholder: t('units'), required: true });
    const reason = el('input', { placeholder: t('reason'), required: true });
    out.push(el('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await call(`/api/v1/orders/${encodeURIComponent(f.id)}/summon`, { token: gw.token, method: 'POST', body: { units: units.value.split(/[,，\s]+/).filter(Boolean), reason: reason.value } });
        openPanel(f.id);
      } catch (err) { msg.textContent = err.message; }
    } }, el('b', {}, `${t('summon')} (吹哨报到)`), units, reason, el('button', { type: 'submit' }, t('summon'))));
  }
  if (may.split && allowed.includes('mark_duplicate')) {
    const into = el('input', { name: 'into', placeholder: t('merge_into'), required: true });
    const reason = el('input', { name: 'reason', placeholder: t('reason'), required: true });
    out.push(el('form', { id: 'form-merge', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await call(`/api/v1/orders/${encodeURIComponent(f.id)}/merge`, { token: gw.token, method: 'POST', body: { into: into.value.trim(), reason: reason.value } });
        openPanel(r.into);
      } catch (err) { msg.textContent = err.message; }
    } }, el('b', {}, t('merge')), into, reason, el('button', { type: 'submit' }, t('merge'))));
  }
  if (p.sources.length > 1 && may.split) {
    const boxes = p.sources.map((s) => el('input', { type: 'checkbox', value: s.id }));
    const reason = el('input', { placeholder: t('reason'), required: true });
    out.push(el('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await call(`/api/v1/orders/${encodeURIComponent(f.id)}/split`, { token: gw.token, method: 'POST', body: { sources: boxes.filter((b) => b.checked).map((b) => b.value), reason: reason.value } });
        openPanel(r.case_id);
      } catch (err) { msg.textContent = err.message; }
    } }, el('b', {}, `${t('split')} — ${t('select_sources')}`), ...boxes.map((b) => el('label', {}, b, b.value)), reason, el('button', { type: 'submit' }, t('split'))));
  }
  out.push(msg);
  return out;
}

function tickSla() {
  for (const b of document.querySelectorAll('.sla')) {
    const left = new Date(b.dataset.due).getTime() - Date.now();
    b.textContent = left >= 0 ? `${formatSpan(left)} ${t('remaining')}` : `${t('late')} ${formatSpan(left)}`;
    b.classList.toggle('late', left < 0);
  }
}
setInterval(tickSla, 1000);

// ---- drill-down and rates --------------------------------------------------------------

function childLevel() {
  if (!gw.levels || !gw.levels.length) return null;
  if (!gw.area) return gw.levels[0];
  const i = gw.levels.findIndex((l) => l.level === gw.area.level);
  return gw.levels[i + 1] || null;
}

function renderDrill() {
  const box = document.getElementById('drill');
  if (!box) return;
  const trail = [];
  for (let a = gw.area; a; a = a.parent ? gw.areas.get(`${a.level - 1}:${a.parent}`)?.properties : null) trail.unshift(a);
  const periods = [7, 30, 90];
  box.replaceChildren(
    el('h2', {}, t('areas')),
    el('div', { class: 'crumbs' },
      el('a', { onclick: () => selectArea(null) }, t('city')),
      ...trail.map((a) => [' › ', el('a', { onclick: () => selectArea(a.code, a.level) }, a.name || a.code)])),
    el('div', { class: 'row' },
      el('select', { id: 'period', onchange: (e) => { gw.periodDays = Number(e.target.value); loadStats(); } },
        ...periods.map((d) => el('option', { value: d, selected: d === gw.periodDays }, t(`days${d}`)))),
      el('label', {}, el('input', { type: 'checkbox', id: 'density', checked: gw.map.getLayoutProperty('density', 'visibility') === 'visible', onchange: (e) => { gw.map.setLayoutProperty('density', 'visibility', e.target.checked ? 'visible' : 'none'); redraw(); } }), t('density'))),
    el('div', { class: 'stats', id: 'stats' }),
    el('table', { class: 'children', id: 'children' }));
  loadStats();
}

async function selectArea(code, level) {
  const f = code ? gw.areas.get(`${level}:${code}`) : null;
  if (gw.area) gw.map.setFeatureState({ source: `areas-${gw.area.level}`, id: gw.area.code }, { selected: false });
  gw.area = f ? f.properties : null;
  if (f) {
    gw.map.setFeatureState({ source: `areas-${f.properties.level}`, id: f.properties.code }, { selected: true });
    const b = new maplibregl.LngLatBounds();
    mapCoords(gw.shift(f.geometry), (c) => { b.extend(c); return c; });
    gw.map.fitBounds(b, { padding: 40, duration: 600 });
  } else {
    gw.map.easeTo({ center: [116.40, 39.91], zoom: 9.2 });
  }
  renderDrill();
}

function since() {
  const to = new Date();
  const from = new Date(to.getTime() - gw.periodDays * 86400e3);
  return `from=${from.toISOString().replace(/\.\d+Z$/, 'Z')}&to=${new Date(to.getTime() + 60e3).toISOString().replace(/\.\d+Z$/, 'Z')}`;
}

const pct = (r) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)}%`);

async function loadStats() {
  const box = document.getElementById('stats');
  if (!box || !gw.me.may.stats) return;
  const area = gw.area ? `&area=${encodeURIComponent(gw.area.code)}` : '';
  const child = childLevel();
  try {
    const [all, kids] = await Promise.all([
      call(`/api/v1/stats?${since()}${area}&tz=Asia/Shanghai`, { token: gw.token }),
      child ? call(`/api/v1/stats?${since()}${area}&by=${encodeURIComponent(child.name)}&tz=Asia/Shanghai`, { token: gw.token }) : null,
    ]);
    const s = all.total;
    box.replaceChildren(
      ...[['cases', s.cases], ['response_rate', pct(s.response_rate)], ['resolution_rate', pct(s.resolution_rate)],
        ['satisfaction_rate', pct(s.satisfaction_rate)], ['proactive_share', pct(s.proactive_share)]]
        .map(([k, v]) => el('div', { class: 'stat', id: `stat-${k}` }, el('b', {}, String(v)), t(k))));
    const table = document.getElementById('children');
    if (!kids) return table.replaceChildren();
    const name = (code) => gw.areas.get(`${child.level}:${code}`)?.properties.name || code || '—';
    table.replaceChildren(
      el('tr', {}, el('th', {}, t('areas')), el('th', {}, t('cases')), el('th', {}, '响应/Resp'), el('th', {}, '解决/Res'), el('th', {}, '满意/Sat')),
      ...kids.groups.filter((g) => g.key).sort((a, b) => b.cases - a.cases).slice(0, 40).map((g) =>
        el('tr', { onclick: () => selectArea(g.key, child.level) }, el('td', {}, name(g.key)), el('td', {}, g.cases), el('td', {}, pct(g.response_rate)), el('td', {}, pct(g.resolution_rate)), el('td', {}, pct(g.satisfaction_rate)))));
  } catch (e) {
    box.replaceChildren(el('div', { class: 'error' }, e.message));
  }
}

function showError(e) {
  console.error(e);
  const p = document.getElementById('panel');
  p.classList.remove('hidden');
  p.replaceChildren(el('p', { class: 'error' }, `${t('error')}: ${e.message}`));
}

boot().catch((e) => {
  console.error(e);
  root.replaceChildren(el('p', { class: 'error' }, `${t('error')}: ${e.message}`));
});
