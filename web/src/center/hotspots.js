// Hot spots on the wall map (docs/analytics.md): the hot and cold cells of the last 28 days
// (Gi* with a false discovery rate), the cells whose problem is growing (emerging hot spots,
// 13 weeks), and today's unusual counts, beside the filters. Whoever reads the rates; refreshed
// every 5 minutes (the statistics move by the day, not by the second).
import { call, el } from '../common/api.js';
import { lang, t } from '../common/i18n.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const REFRESH_MS = 5 * 60_000;
// From this zoom on the hot and cold cells are outlined instead of filled.
const OUTLINED_FROM = 14;
const GROWING = ['intensifying_hot', 'persistent_hot', 'new_hot', 'consecutive_hot'];
const SPOT_COLOR = ['match', ['get', 'spot'], 'hot', '#e53935', '#1e88e5'];
const CLASS_COLOR = ['match', ['get', 'class'], 'intensifying_hot', '#ff1744', 'new_hot', '#ff9100', '#ffca28'];

// A cell's key, the same in both answers when their cells are (hexagons of one size, or the same
// areas): the mean vertex of its first ring; none without a polygon.
function cellKey(geometry) {
  if (!geometry || !geometry.coordinates || !geometry.coordinates.length) return null;
  const ring = geometry.type === 'MultiPolygon' ? geometry.coordinates[0][0] : geometry.coordinates[0];
  let x = 0, y = 0;
  for (const [lon, lat] of ring) { x += lon; y += lat; }
  return `${(x / ring.length).toFixed(6)},${(y / ring.length).toFixed(6)}`;
}

// The cells filled until street zoom, one layer: the hot and cold cells (`spot`), each with its
// growing class (`class`) when it has one, and the growing cells that are neither (all of them,
// drawn over the hot and cold ones, when the two answers' hexagons differ in size: the center
// sizes each answer's hexagons to its own window when the area is large).
export function filledCells(spots, growing) {
  const keyed = growing.features.map((f) => [cellKey(f.geometry), f]);
  const classOf = new Map(keyed.filter(([key]) => key).map(([key, f]) => [key, f.properties.class]));
  const features = spots.features.map((f) => {
    const key = cellKey(f.geometry), c = key && classOf.get(key);
    if (!c) return f;
    classOf.delete(key);
    return { ...f, properties: { ...f.properties, class: c } };
  });
  for (const [key, f] of keyed)
    if (classOf.has(key)) features.push({ type: 'Feature', geometry: f.geometry, properties: { class: f.properties.class } });
  return { type: 'FeatureCollection', features };
}

export function createHotspots(ctx, map) {
  const state = { spots: EMPTY, emerging: EMPTY, anomalies: [], hot: 0, cold: 0, cells: 0, size: null, classes: {}, loadedAt: 0 };
  const allowed = ctx.me.may && ctx.me.may.stats;

  function addLayers() {
    map.addSource('hotspots', { type: 'geojson', data: EMPTY });
    map.addSource('emerging', { type: 'geojson', data: EMPTY });
    // Below the cases. Until street zoom one fill: hot cells red, cold blue, a growing problem's
    // cells in its class's colour, more opaque; a second layer over thousands of cells ~10 px
    // across (the growing ones' outlines) cost a frame drawn in software as much as all the rest
    // of it. From street zoom on (single cases drawn) the hot and cold cells are outlined,
    // dashed, not filled — a fill under the cases would tint their colours and the streets — and
    // the growing ones outlined in their class's colour.
    map.addLayer({ id: 'hotspots', type: 'fill', source: 'hotspots', maxzoom: OUTLINED_FROM,
      paint: { 'fill-color': ['case', ['has', 'class'], CLASS_COLOR, SPOT_COLOR], 'fill-opacity': ['case', ['has', 'class'], 0.5, 0.28] } }, 'density');
    map.addLayer({ id: 'hotspots-line', type: 'line', source: 'hotspots', minzoom: OUTLINED_FROM, filter: ['has', 'spot'],
      paint: { 'line-color': SPOT_COLOR, 'line-width': 1.5, 'line-dasharray': [3, 2] } }, 'density');
    map.addLayer({ id: 'emerging', type: 'line', source: 'emerging', minzoom: OUTLINED_FROM,
      paint: { 'line-color': CLASS_COLOR, 'line-width': 2 } }, 'density');
  }

  async function load() {
    if (!allowed) return;
    // Each answer on its own: one refused (say, too many hexagons for the area) leaves the others.
    const [spots, emerging, anomalies] = (await Promise.allSettled([
      call('/api/v1/analytics/hotspots', { token: ctx.token }),
      call('/api/v1/analytics/emerging', { token: ctx.token }),
      call('/api/v1/analytics/anomalies', { token: ctx.token }),
    ])).map((r) => {
      if (r.status === 'rejected') console.warn(`hot spot layers: ${r.reason.message}`);
      return r.status === 'fulfilled' ? r.value : null;
    });
    if (spots) {
      state.spots = ctx.shiftAll(spots);
      state.hot = spots.hot;
      state.cold = spots.cold;
      state.cells = spots.cell_count;
      state.size = spots.size_m ?? null; // the center enlarges the hexagons over a large area
    }
    if (emerging) {
      state.emerging = ctx.shiftAll({ ...emerging, features: emerging.features.filter((f) => GROWING.includes(f.properties.class)) });
      state.classes = emerging.classes;
    }
    if (anomalies) state.anomalies = anomalies.items.filter((i) => i.alarm);
    state.loadedAt = Date.now();
    map.getSource('hotspots')?.setData(filledCells(state.spots, state.emerging));
    map.getSource('emerging')?.setData(state.emerging);
    render();
  }

  function render() {
    const box = document.getElementById('hotspots');
    if (!box || !allowed) return;
    const c = state.classes || {};
    box.replaceChildren(
      el('h2', {}, t('hotspots')),
      el('div', { class: 'row' }, el('span', { class: 'grow' }, t('hot_cells')), el('b', { id: 'hot-count' }, String(state.hot))),
      el('div', { class: 'row' }, el('span', { class: 'grow' }, t('intensifying')), el('b', {}, String(c.intensifying_hot || 0))),
      el('div', { class: 'row' }, el('span', { class: 'grow' }, t('persistent')), el('b', {}, String(c.persistent_hot || 0))),
      ...(state.size ? [el('div', { class: 'muted', id: 'hex-size' }, `${t('hexagon_edge')}: ${state.size} m`)] : []),
      el('div', { class: 'muted' }, `${t('anomalies')}: ${state.anomalies.length}`),
      ...state.anomalies.slice(0, 3).map((a) => el('div', { class: 'muted anomaly' },
        `${a.area_name || a.area} · ${a.group} · ${a.today} (${lang() === 'zh' ? '预期' : 'expected'} ${a.expected.toFixed(1)})`)));
  }

  function follow() {
    if (!allowed) return;
    setInterval(() => load().catch((e) => console.warn(`hot spot layers: ${e.message}`)), REFRESH_MS);
  }

  return { addLayers, load, render, follow, state: () => state };
}
