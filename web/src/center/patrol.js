// The grid workers on the wall map (docs/patrol.md): where each is now, today's tracks, and the
// 50 m cells of their grids not yet visited today; the coverage per grid beside the filters.
// Dispatchers and admins only (the API refuses the others); refreshed every 30 s.
import { call, el } from '../common/api.js';
import { t } from '../common/i18n.js';

const EMPTY = { type: 'FeatureCollection', features: [] };

export function createPatrol(ctx, map) {
  const state = { workers: EMPTY, tracks: EMPTY, cells: EMPTY, coverage: [], loadedAt: 0 };
  const allowed = ctx.me.may && ctx.me.may.workers;

  function addLayers() {
    map.addSource('patrol-cells', { type: 'geojson', data: EMPTY });
    map.addSource('patrol-tracks', { type: 'geojson', data: EMPTY });
    map.addSource('workers', { type: 'geojson', data: EMPTY });
    // Below the cases: the cells at street zoom, the tracks, then the workers.
    map.addLayer({ id: 'patrol-cells', type: 'fill', source: 'patrol-cells', minzoom: 13,
      paint: { 'fill-color': '#ffa726', 'fill-opacity': 0.18, 'fill-outline-color': '#ffa726' } }, 'density');
    map.addLayer({ id: 'patrol-tracks', type: 'line', source: 'patrol-tracks',
      paint: { 'line-color': '#26c6da', 'line-width': 2, 'line-opacity': 0.8 } }, 'density');
    map.addLayer({ id: 'workers', type: 'circle', source: 'workers',
      paint: { 'circle-radius': 6, 'circle-color': ['case', ['get', 'on_duty'], '#26c6da', '#607d8b'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  }

  async function load() {
    if (!allowed) return;
    const [workers, tracks, coverage] = await Promise.all([
      call('/api/v1/workers', { token: ctx.token }),
      call('/api/v1/patrol/tracks', { token: ctx.token }),
      call('/api/v1/stats/coverage', { token: ctx.token }),
    ]);
    // The cells still to walk today, for the grids that have workers.
    const grids = coverage.grids.filter((g) => g.cells > 0).map((g) => g.grid);
    const cells = await Promise.all(grids.map((g) => call(`/api/v1/patrol/cells?grid=${encodeURIComponent(g)}&visited=false`, { token: ctx.token })));
    state.workers = ctx.shiftAll(workers);
    state.tracks = ctx.shiftAll(tracks);
    state.cells = ctx.shiftAll({ type: 'FeatureCollection', features: cells.flatMap((c) => c.features) });
    state.coverage = coverage.grids;
    state.loadedAt = Date.now();
    map.getSource('workers')?.setData(state.workers);
    map.getSource('patrol-tracks')?.setData(state.tracks);
    map.getSource('patrol-cells')?.setData(state.cells);
    render();
  }

  function render() {
    const box = document.getElementById('patrol');
    if (!box || !allowed) return;
    box.replaceChildren(
      el('h2', {}, t('coverage')),
      ...state.coverage.map((g) => el('div', { class: 'coverage', dataset: { grid: g.grid } },
        el('div', { class: 'row' }, el('span', { class: 'grow' }, g.grid),
          el('b', {}, g.share === null ? '–' : `${Math.round(100 * g.share)}%`)),
        el('div', { class: 'muted' }, g.workers.map((w) => `${w.worker} ${w.share === null ? '–' : `${Math.round(100 * w.share)}%`}`).join(' · ')))),
      el('div', { class: 'muted' }, `${t('workers')}: ${state.workers.features.length} · ${t('tracks')}: ${state.tracks.features.length} · ${t('unvisited')}: ${state.cells.features.length}`));
  }

  function follow() {
    if (!allowed) return;
    setInterval(() => load().catch((e) => console.warn(`patrol layers: ${e.message}`)), 30_000);
  }

  return { addLayers, load, render, follow, state: () => state };
}
