// The district control center's wall map: every open case live, filters, the case panel with
// its sources, timeline, SLA and the dispatcher's actions, and the drill-down city -> district ->
// street -> grid with the three rates. This file builds the page and wires its parts, each of
// which keeps its own state:
//   state.js   the cases the map holds and the filters
//   map.js     the map, its layers and the redraw
//   live.js    the cases' first load and live updates
//   panel.js   the case panel (actions.js: the dispatcher's actions in it)
//   drill.js   the drill-down and the rates
//   patrol.js  grid workers: live positions, today's tracks, cells not yet visited, coverage
//   hotspots.js  hot and cold cells, growing problems and today's unusual counts (analytics)
//   screen.js  the big screen (wall layout): KPIs, trends, top categories, ranking, ticker
// What they share is read-only: the caller's token and rights, the page's settings, the catalog.
import '../common/style.css';
import { call, el, loadCatalog, takeToken } from '../common/api.js';
import { categoryName, lang, setLang, stateName, t } from '../common/i18n.js';
import { mapCoords, wgs84ToGcj02 } from '../common/gcj02.js';
import { signIn } from '../common/login.js';
import { STATE_COLORS } from './icons.js';
import { createCases, OPEN_WORK, SOURCES } from './state.js';
import { createMapView, prewarmMap } from './map.js';
import { createLiveCases } from './live.js';
import { createPanel } from './panel.js';
import { createDrill } from './drill.js';
import { createPatrol } from './patrol.js';
import { createHotspots } from './hotspots.js';
import { createScreen } from './screen.js';

const token = takeToken('center');
const root = document.getElementById('root');
const marks = {}; // performance.now() at each step of the first load
const mark = (name) => { marks[name] = Math.round(performance.now()); };

function layoutFor(width) {
  const q = new URLSearchParams(location.search).get('layout');
  if (['wall', 'desk', 'phone'].includes(q)) return q;
  if (width >= 2400) return 'wall';
  return width >= 900 ? 'desk' : 'phone';
}

async function boot() {
  prewarmMap();
  // The page's settings and the catalog need no token: asked while the token is checked.
  const settings = Promise.all([call('/web/config.json'), loadCatalog()]);
  settings.catch(() => {}); // a failure is reported below, once signed in
  const who = await signIn(token, root, t('title'), boot);
  if (!who) return;
  mark('signed_in');
  const [config, catalog] = await settings;
  const gcj = config.tiles && config.tiles.crs === 'gcj02';
  const shift = gcj ? (g) => mapCoords(g, wgs84ToGcj02) : (g) => g;
  // shiftAll: a FeatureCollection's located features, shifted (those without a geometry dropped).
  const shiftAll = (fc) => ({ ...fc, features: fc.features.filter((f) => f.geometry).map((f) => ({ ...f, geometry: shift(f.geometry) })) });
  const ctx = Object.freeze({ token: who.token, me: who.me, config, catalog, shift, shiftAll });
  start(ctx);
}

function start(ctx) {
  let live = 'reconnecting';
  let firstMapAt = 0;
  let view = null;
  const setLayout = (layout) => {
    document.body.className = `layout-${layout}`;
    if (view) view.map.resize();
    if (view) {
      screen.render();
      screen.refreshIfStale();
    }
  };
  setLayout(layoutFor(innerWidth));
  addEventListener('resize', () => setLayout(layoutFor(innerWidth)));

  document.title = t('title');
  const chooseLayout = (e) => {
    const u = new URL(location);
    u.searchParams.set('layout', e.target.value);
    history.replaceState(null, '', u);
    setLayout(e.target.value);
  };
  root.replaceChildren(
    el('div', { class: 'app' },
      el('header', { class: 'topbar' },
        el('h1', {}, t('title')),
        el('span', { class: 'badge', id: 'live' }, t(live)),
        el('span', { class: 'muted', id: 'count' }),
        el('span', { class: 'grow' }),
        el('span', { class: 'muted wide' }, ctx.me.name),
        el('select', { id: 'layout', class: 'wide', onchange: chooseLayout },
          ...['wall', 'desk', 'phone'].map((l) => el('option', { value: l, selected: document.body.className === `layout-${l}` }, t(l)))),
        el('button', { id: 'lang', onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); rerender(); } }, lang() === 'zh' ? 'EN' : '中文'),
        el('button', { onclick: () => { token.clear(); location.reload(); } }, t('logout'))),
      el('aside', { class: 'screen', id: 'screen' }),
      el('aside', { class: 'side' },
        el('section', { id: 'drill' }),
        el('section', { id: 'patrol' }),
        el('section', { id: 'hotspots' }),
        el('section', { class: 'filters', id: 'filters' })),
      el('main', { class: 'mapwrap' },
        el('div', { id: 'map' }),
        el('div', { class: 'legend', id: 'legend' }),
        el('div', { class: 'panel hidden', id: 'panel' }))));

  const cases = createCases();
  const panel = createPanel(ctx);
  view = createMapView(ctx, cases, {
    onCaseClick: (id) => panel.open(id),
    onReady: firstLoad,
    onDrawn: (n, inView) => { document.getElementById('count').textContent = `${t(inView ? 'open_in_view' : 'open_cases')}: ${n}`; },
  });
  const drill = createDrill(ctx, view);
  const patrol = createPatrol(ctx, view.map);
  const hotspots = createHotspots(ctx, view.map);
  const screen = createScreen(ctx);
  const liveCases = createLiveCases(ctx, cases, {
    onCase: (id) => { if (panel.openId() === id) panel.open(id); },
    onBatch: (places) => {
      if (drill.area()) drill.loadStats();
      view.refreshTiles(places);
    },
    onState: setLive,
    onOpened: (f) => screen.opened(f),
    // Tiles from the first load on; a reload later (a burst, the stream back) reloads them.
    onMany: () => { if (view.tiles()) view.refreshTiles(); else view.useTiles(); },
    mode: mapMode(ctx),
  });
  renderFilters(ctx, cases);
  renderLegend();

  // Once the map has its layers: the areas, the drill-down, the cases, then the live events.
  async function firstLoad() {
    mark('map_loaded');
    try {
      // The cases, then the areas; what else the map shows, and the drill-down's figures, wait
      // for the first map (their queries would take the center's CPU while the cases are drawn).
      // With tiles the areas wait until the map asked the cases' tiles: the map's worker takes
      // its jobs in turn, and the areas' outlines keep it busy for a few hundred ms.
      const chosen = liveCases.choose().then((tiles) => {
        if (!tiles) view.useGeoJSON();
        return tiles;
      });
      const areas = chosen.then((tiles) => tiles && view.tilesAsked()).then(() => drill.load())
        .then(() => { mark('areas'); drill.render({ stats: false }); });
      await liveCases.load(chosen);
      mark('cases');
      liveCases.follow();
      await areas;
      // Time to first map: the page's navigation to the first frame with the cases drawn: the
      // first idle map once the redraw (next animation frame) handed the cases to the map and
      // their source (GeoJSON clustered in the map's worker, or the tiles) is loaded. The rest
      // starts then, or after 10 s whatever happens.
      await new Promise((frame) => requestAnimationFrame(() => requestAnimationFrame(frame)));
      await new Promise((drawn) => {
        const map = view.map;
        const check = () => {
          if (!map.loaded() || !map.areTilesLoaded() || !map.isSourceLoaded(view.tiles() ? 'case-tiles' : 'cases')) {
            map.once('idle', check);
            return;
          }
          firstMapAt = performance.now();
          drawn();
        };
        check();
        setTimeout(drawn, 10_000);
      });
      view.drawLaterAreas();
      drill.loadStats();
      patrol.addLayers();
      await patrol.load();
      patrol.follow();
      hotspots.addLayers();
      await hotspots.load().catch((e) => console.warn(`hot spot layers: ${e.message}`));
      hotspots.follow();
      await screen.load().catch((e) => console.warn(`big screen: ${e.message}`));
      screen.follow();
    } catch (e) {
      showError(e);
    }
  }

  function setLive(state) {
    live = state;
    const b = document.getElementById('live');
    b.textContent = t(state);
    b.className = `badge ${state === 'live' ? 'live' : 'late'}`;
  }

  // Language switch: the map stays, the words change.
  function rerender() {
    document.title = t('title');
    document.querySelector('.topbar h1').textContent = t('title');
    document.getElementById('lang').textContent = lang() === 'zh' ? 'EN' : '中文';
    setLive(live);
    renderFilters(ctx, cases);
    renderLegend();
    drill.render();
    patrol.render();
    hotspots.render();
    screen.render();
    if (panel.openId()) panel.open(panel.openId());
    view.map.resize();
  }

  // For tests, benchmarks and the curious operator's console: a read-only view of the page.
  window.gridwatch = {
    marks,
    get map() { return view.map; },
    get loadedAt() { return liveCases.loadedAt(); },
    get firstMapAt() { return firstMapAt; },
    get lastEventAt() { return liveCases.lastEventAt(); },
    get shown() { return view.drawn(); },
    get tiles() { return view.tiles(); },
    get tileRefreshes() { return view.tileRefreshes(); },
    get tileReloadPending() { return view.tileReloadPending(); },
    get area() { return drill.area(); },
    patrol: () => patrol.state(),
    hotspots: () => hotspots.state(),
    reloadHotspots: () => hotspots.load(),
    screen: () => screen.state(),
    cases: () => cases.all(),
    hasCase: (id) => cases.has(id),
    openCase: (id) => panel.open(id),
    fitAll: () => view.fitAll(),
    renderedCaseTotal: () => view.renderedCaseTotal(),
    areaNames: () => view.areaNames(),
  };
}

// How the map draws the cases: ?map=tiles or ?map=geojson, else by their number (live.js); the
// tiles are WGS-84, so a GCJ-02 base map keeps the GeoJSON.
function mapMode(ctx) {
  if (ctx.config.tiles && ctx.config.tiles.crs === 'gcj02') return 'geojson';
  const q = new URLSearchParams(location.search).get('map');
  return ['tiles', 'geojson'].includes(q) ? q : 'auto';
}

function renderLegend() {
  const shown = ['new', 'dispatched', 'accepted', 'in_progress', 'resolved', 'verifying'];
  document.getElementById('legend').replaceChildren(
    ...shown.map((s) => el('div', {}, el('span', { class: 'dot', style: `background:${STATE_COLORS[s]}` }), stateName(s))),
    el('div', {}, el('span', { class: 'dot', style: 'background:transparent;border:2px solid #ef5350' }), t('late')));
}

function renderFilters(ctx, cases) {
  const box = (set, value, label, id) => el('label', {},
    el('input', { type: 'checkbox', id, checked: cases.in(set, value), onchange: (e) => cases.include(set, value, e.target.checked) }), label);
  const flag = (name, id, label) => el('label', {},
    el('input', { type: 'checkbox', id, checked: cases.flag(name), onchange: (e) => cases.setFlag(name, e.target.checked) }), label);
  document.getElementById('filters').replaceChildren(
    el('h2', {}, t('filters')),
    el('div', {}, el('div', { class: 'muted' }, t('source')), ...SOURCES.map((s) => box('sources', s, t(s), `f-source-${s}`))),
    el('div', {}, flag('overdue', 'f-overdue', t('overdue_only')), flag('proactive', 'f-proactive', t('proactive_only'))),
    el('div', { class: 'muted' }, `${t('state')} (${t('all')} = ∅)`),
    el('div', {}, ...OPEN_WORK.map((s) => box('states', s, stateName(s)))),
    el('div', { class: 'muted' }, `${t('category')} (${t('all')} = ∅)`),
    el('div', {}, ...[...ctx.catalog.keys()].map((c) => box('categories', c, categoryName(ctx.catalog, c)))));
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
