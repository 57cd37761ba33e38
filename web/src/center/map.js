// The wall map: base style, the cases' layers (clusters, state colours, category icons, the
// density heat map), the areas' outlines, and the redraw whenever the cases or filters change.
// Two ways to draw the cases: the cases the page holds as GeoJSON, clustered in the browser (a
// district's few thousand), or from 5,000 open cases on (useTiles) the center's vector tiles,
// clustered by the center up to zoom 13 and filtered by the tiles' parameters; the page then
// holds only the cases it was told of since, and reloads the tiles after live changes.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import { el } from '../common/api.js';
import { mapCoords } from '../common/gcj02.js';
import { CASE_IMAGE, caseImage } from './icons.js';
import { groupOf, SOURCES } from './state.js';

export const HOME = { center: [116.40, 39.91], zoom: 9.2 };

// Starts the map's worker (its script is compiled once there) before the map exists: the page
// calls it at once, and the worker is ready by the time the map loads its style.
export const prewarmMap = () => maplibregl.prewarm();

// The map's own style: no layer but the base map's tiles, if any. The background colour is the
// page's (#map in style.css), under a transparent canvas: a background layer is one more pass
// over every pixel of every frame, which a browser drawing in software pays (2–10 % of the first map
// in two probes).
function baseStyle(tiles) {
  const style = { version: 8, sources: {}, layers: [] };
  if (tiles && tiles.type === 'raster') {
    style.sources.base = { type: 'raster', tiles: [tiles.url], tileSize: 256, attribution: tiles.attribution || '' };
    style.layers.push({ id: 'base', type: 'raster', source: 'base' });
  }
  return tiles && tiles.type === 'vector' ? tiles.url : style;
}

const EMPTY = { type: 'FeatureCollection', features: [] };
// Tiles in view are loaded again at most this often while live changes come in.
const TILE_REFRESH_MS = 2000;
// What waits for a still view (the cluster labels, the count in view, tile reloads): this long
// without a move. A drag, or a view moved frame by frame, does it once at the end.
const STILL_MS = 300;
const RELOAD_STILL_MS = 1000;
const RELOAD_AT_MOST_MS = 10_000; // a view that never stops reloads anyway
// The places of live changes waiting for a reload of the tiles holding them (more: every tile).
const CHANGED_AT_MOST = 500;
const TILE_MAXZOOM = 16;

// The tiles (every zoom of the cases' tiles) that hold the places [[lon, lat]]: the center puts
// each case in the one tile of a zoom that holds it (cases_tile.sql), by the spherical Mercator.
function tilesHolding(places) {
  const ids = new Map();
  for (const [lon, lat] of places) {
    const fx = (lon + 180) / 360;
    const fy = (1 - Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)) / Math.PI) / 2;
    for (let z = 0; z <= TILE_MAXZOOM; z++) {
      const n = 2 ** z;
      const x = Math.floor(fx * n), y = Math.floor(fy * n);
      if (x >= 0 && x < n && y >= 0 && y < n) ids.set(`${z}/${x}/${y}`, { z, x, y });
    }
  }
  return [...ids.values()];
}

// The tiles' parameters for the map's filters (state.js), or null when no case can pass.
export function tileQuery(cases) {
  const q = new URLSearchParams();
  const f = cases.filters();
  if (!f.sources.size) return null;
  if (f.categories.size) q.set('category', [...f.categories].join(','));
  if (f.states.size) q.set('state', [...f.states].join(','));
  if (f.sources.size < SOURCES.length) q.set('source', [...f.sources].join(','));
  if (f.overdue) q.set('overdue', 'true');
  if (f.proactive) q.set('proactive', 'true');
  return q;
}

// The map in the element #map, drawing `cases` (state.js). `onCaseClick(id)` when a case is
// clicked, `onReady()` once its layers exist, `onDrawn(n, inView)` after each redraw with the
// number drawn (with tiles: the cases in view, counted when the map is idle).
export function createMapView(ctx, cases, { onCaseClick, onReady, onDrawn }) {
  const map = new maplibregl.Map({ container: 'map', style: baseStyle(ctx.config.tiles), ...HOME, attributionControl: false, fadeDuration: 0 });
  let drawn = 0;
  let redrawQueued = false;
  let tileUrl = null; // with tiles: the URL of the tiles for the filters now
  let refreshTimer = null;
  let refreshedAt = 0;
  let refreshes = 0;
  // Where the live changes waiting for a reload happened; null: reload every tile.
  let changed = [];
  let movedAt = 0; // when the view last moved (performance.now())
  let densityOn = false; // the Density box
  const densityShown = () => densityOn;

  // Draws the cases that pass the filters, once per animation frame however many changes came.
  function redraw() {
    if (redrawQueued) return;
    redrawQueued = true;
    requestAnimationFrame(() => {
      redrawQueued = false;
      if (tileUrl !== null) {
        filterTiles();
        return;
      }
      const features = cases.shown().map((f) => ({ type: 'Feature', id: f.id, geometry: ctx.shift(f.geometry), properties: { ...f.properties, group: groupOf(f.properties.category) } }));
      drawn = features.length;
      const data = { type: 'FeatureCollection', features };
      const src = map.getSource('cases');
      if (src) {
        src.setData(data);
        // The density layer's copy only while it is shown (50,000 cases are parsed again for it).
        map.getSource('density').setData(densityShown() ? data : EMPTY);
      }
      onDrawn(drawn);
    });
  }
  cases.onChange(redraw);

  // With tiles: the filters become the tiles' parameters (new tiles only when they change); no
  // source ticked shows nothing.
  function filterTiles() {
    const q = tileQuery(cases);
    const visibility = q ? 'visible' : 'none';
    for (const id of ['clusters', 'cases']) map.setLayoutProperty(id, 'visibility', visibility);
    map.setLayoutProperty('density', 'visibility', q && densityOn ? 'visible' : 'none');
    if (!q) return;
    const url = tilesFor(q);
    if (url !== tileUrl) {
      tileUrl = url;
      changed = []; // every tile loaded afresh
      map.getSource('case-tiles').setTiles([url]);
    }
  }
  const tilesFor = (q) => `${location.origin}/tiles/{z}/{x}/{y}.mvt?${new URLSearchParams([...q, ['access_token', ctx.token]])}`;

  // The layers of the cases, from the page's GeoJSON or (vector) the center's tiles.
  function addCaseLayers(vector) {
    const from = vector ? { source: 'case-tiles', 'source-layer': 'cases' } : { source: 'cases' };
    // In their place: below the layers added after them (the workers' dots).
    const order = map.getStyle().layers.map((l) => l.id);
    const before = order.includes('cases') ? order[order.indexOf('cases') + 1] : undefined;
    for (const id of ['cases', 'clusters', 'density']) if (map.getLayer(id)) map.removeLayer(id);
    // A cluster of the tiles weighs the log of its count (its cases would saturate the heat).
    map.addLayer({ id: 'density', type: 'heatmap', ...(vector ? from : { source: 'density' }), layout: { visibility: densityOn ? 'visible' : 'none' },
      paint: { 'heatmap-radius': ['interpolate', ['linear'], ['zoom'], 8, 8, 15, 30], 'heatmap-opacity': 0.75,
        'heatmap-weight': ['case', ['has', 'point_count'], ['ln', ['+', 1, ['get', 'point_count']]], 1] } }, before);
    map.addLayer({ id: 'clusters', type: 'circle', ...from, filter: ['has', 'point_count'],
      paint: { 'circle-color': '#0288d1', 'circle-opacity': 0.85, 'circle-stroke-color': '#b3e5fc', 'circle-stroke-width': 1.5,
        'circle-radius': ['step', ['get', 'point_count'], 12, 10, 16, 100, 22, 1000, 30] } }, before);
    // Each case one image (icons.js): its state's dot, its domain's shape, the overdue ring; the
    // dot's radius 7 px at zoom 10 to 12 px from zoom 16, an image per size drawn unscaled.
    map.addLayer({ id: 'cases', type: 'symbol', ...from, filter: ['!', ['has', 'point_count']],
      layout: { 'icon-image': CASE_IMAGE, 'icon-allow-overlap': true, 'icon-ignore-placement': true } }, before);
  }

  // Drops the cases' tiles `ids` ([{z, x, y}]) from the tiles MapLibre keeps out of view (its
  // TileManager's cache: not public; false when it is not there, e.g. in another version).
  function dropKeptTiles(ids) {
    const cache = map.style?.tileManagers?.['case-tiles']?._outOfViewCache;
    if (!cache || typeof cache.filter !== 'function') return false;
    const keys = new Set(ids.map(({ z, x, y }) => `${z}/${x}/${y}`));
    cache.filter((tile) => { const c = tile.tileID.canonical; return !keys.has(`${c.z}/${c.x}/${c.y}`); });
    return true;
  }

  // A cluster's key: its id in the browser's clusters, its place in the center's.
  const clusterKey = (f) => f.properties.cluster_id ?? f.geometry.coordinates.join(',');

  // Numbers on clusters as HTML (no glyph server on a closed network): only those in view.
  const clusterMarkers = new Map(); // cluster id -> marker
  function updateClusterLabels() {
    if (!map.getLayer('clusters')) return;
    const seen = new Set();
    for (const f of map.queryRenderedFeatures({ layers: ['clusters'] })) {
      const id = clusterKey(f);
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

  // Area names as HTML too: districts until street zoom, streets from zoom 12, those in view.
  let names = []; // [{level, name, at}]
  const nameMarkers = new Map(); // 'level:name' -> marker
  function updateAreaNames() {
    const z = map.getZoom();
    const view = map.getBounds();
    const seen = new Set();
    for (const n of names) {
      if ((n.level === 0 && z >= 14) || (n.level === 1 && z < 12) || !view.contains(n.at) || seen.size >= 200) continue;
      const key = `${n.level}:${n.name}`;
      seen.add(key);
      if (!nameMarkers.has(key))
        nameMarkers.set(key, new maplibregl.Marker({ element: el('div', { class: `area-name level-${n.level}` }, n.name) }).setLngLat(n.at).addTo(map));
    }
    for (const [key, m] of nameMarkers) if (!seen.has(key)) { m.remove(); nameMarkers.delete(key); }
  }
  map.on('moveend', updateAreaNames);

  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-right');
  map.on('load', () => {
    // The cases' images as the map meets them (a domain × state × overdue × size each), at the
    // display's pixel ratio: the map draws an image of its own ratio unscaled.
    map.on('styleimagemissing', (e) => {
      const ratio = map.getPixelRatio();
      const img = caseImage(e.id, ratio);
      if (img && !map.hasImage(e.id)) map.addImage(e.id, img, { pixelRatio: ratio });
    });
    // The cases' layers come once the page knows how it draws them (useGeoJSON or useTiles):
    // layers added here and replaced then would cost the first map a frame.
    map.on('click', 'cases', (e) => onCaseClick(e.features[0].properties.id));
    map.on('click', 'clusters', async (e) => {
      const f = e.features[0];
      const zoom = tileUrl !== null ? Math.min(map.getZoom() + 2, 14)
        : await map.getSource('cases').getClusterExpansionZoom(f.properties.cluster_id);
      map.easeTo({ center: f.geometry.coordinates, zoom });
    });
    for (const id of ['cases', 'clusters']) {
      map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
    }
    // The labels and the count once the map is idle and the view still: `idle` comes after each
    // frame of a view moved frame by frame, and these read every feature drawn.
    let labelTimer = null;
    map.on('move', () => { movedAt = performance.now(); clearTimeout(labelTimer); });
    map.on('idle', () => {
      clearTimeout(labelTimer);
      labelTimer = setTimeout(() => {
        updateClusterLabels();
        if (tileUrl !== null) {
          drawn = renderedCaseTotal();
          onDrawn(drawn, true);
        }
      }, Math.max(0, STILL_MS - (performance.now() - movedAt)));
    });
    onReady();
  });
  map.on('error', (e) => console.warn('map:', e.error && e.error.message));

  // A level's outlines show from this zoom on.
  const areaMinZoom = (level) => (level === 0 ? 0 : 8 + 2 * level);
  function addAreaLevel(level, features) {
    const data = { type: 'FeatureCollection', features: features.map((f) => ({ ...f, geometry: ctx.shift(f.geometry) })) };
    map.addSource(`areas-${level}`, { type: 'geojson', data });
    // Only the selected area is filled (highlightArea sets the filter): a fill over the whole
    // view, even a faint one, costs every frame drawn a fifth more in a browser drawing in software.
    map.addLayer({ id: `areas-${level}-fill`, type: 'fill', source: `areas-${level}`, minzoom: areaMinZoom(level),
      filter: selectedOnly(null), paint: { 'fill-color': '#4fc3f7', 'fill-opacity': 0.12 } }, casesBelow());
    map.addLayer({ id: `areas-${level}-line`, type: 'line', source: `areas-${level}`, minzoom: areaMinZoom(level),
      paint: { 'line-color': level === 0 ? '#4fc3f7' : '#2b6a8f', 'line-width': level === 0 ? 1.6 : 0.7, 'line-opacity': 0.8 } }, casesBelow());
  }
  // Under the cases' layers, once they exist (they are added on top).
  const casesBelow = () => (map.getLayer('density') ? 'density' : undefined);
  const selectedOnly = (code) => ['==', ['get', 'code'], code ?? ''];
  let laterAreas = []; // [[level, features]] not drawn yet
  function drawLaterAreas() {
    const levels = laterAreas;
    laterAreas = [];
    for (const [level, features] of levels) addAreaLevel(level, features);
  }

  // What the map shows in view: cases drawn one by one plus those inside clusters.
  function renderedCaseTotal() {
    if (!map.getLayer('clusters')) return 0;
    let n = 0;
    const clusters = new Set();
    for (const f of map.queryRenderedFeatures({ layers: ['clusters'] })) {
      if (clusters.has(clusterKey(f))) continue;
      clusters.add(clusterKey(f));
      n += f.properties.point_count;
    }
    const single = new Set(map.queryRenderedFeatures({ layers: ['cases'] }).map((f) => f.properties.id));
    return n + single.size;
  }

  return {
    map,
    drawn: () => drawn,
    tiles: () => tileUrl !== null,
    // The cases are drawn from the page's GeoJSON (once; the map is loaded, no tiles).
    useGeoJSON() {
      if (tileUrl !== null || map.getSource('cases')) return;
      map.addSource('density', { type: 'geojson', data: EMPTY });
      map.addSource('cases', { type: 'geojson', data: EMPTY, cluster: true, clusterMaxZoom: 13, clusterRadius: 42 });
      addCaseLayers(false);
      redraw();
    },
    // From now on the cases are drawn from the center's tiles (once; the map is loaded).
    useTiles() {
      if (tileUrl !== null) return;
      tileUrl = tilesFor(tileQuery(cases) || new URLSearchParams());
      map.addSource('case-tiles', { type: 'vector', tiles: [tileUrl], minzoom: 0, maxzoom: 16 });
      // The page's GeoJSON emptied, if it held any (the first load has not drawn it: no need to
      // have the map's worker clear it, and draw a frame for it, before the tiles are asked).
      if (drawn > 0 && map.getSource('cases')) {
        map.getSource('cases').setData(EMPTY);
        map.getSource('density').setData(EMPTY);
      }
      addCaseLayers(true);
      filterTiles();
    },
    // Resolves once the map asked the first tiles of the cases (or after `ms` whatever happens).
    tilesAsked(ms = 1000) {
      return new Promise((asked) => {
        const seen = (e) => {
          if (e.sourceId !== 'case-tiles' || !e.tile) return;
          map.off('dataloading', seen);
          asked();
        };
        map.on('dataloading', seen);
        setTimeout(() => { map.off('dataloading', seen); asked(); }, ms);
      });
    },
    // With tiles: the tiles holding `places` ([[lon, lat]] of live changes; null: every tile)
    // are loaded again, at most every 2 s; changes in between wait and go together.
    refreshTiles(places = null) {
      if (tileUrl === null) return;
      if (places === null || changed === null || changed.length + places.length > CHANGED_AT_MOST) changed = null;
      else if (!places.length) return;
      else changed.push(...places);
      if (refreshTimer) return;
      const wait = Math.max(0, refreshedAt + TILE_REFRESH_MS - Date.now());
      // Not while tiles are loading (the first map, a pan): reloads would keep the map from
      // ever being drawn; the changes wait for the map to be idle. Nor while the view moves (a
      // drag, a view moved frame by frame): every tile in view would be asked again under the
      // user's hands; they wait for a second of still view, 10 s at most.
      const asked = Date.now();
      const reload = () => {
        refreshTimer = null;
        refreshedAt = Date.now();
        refreshes += 1;
        // Those holding a change: asked again if in view, forgotten if kept out of view (MapLibre
        // would show a kept tile again as it was); every tile (none kept) if the map's cache of
        // tiles out of view cannot be reached.
        const ids = changed && tilesHolding(changed);
        changed = [];
        if (ids && dropKeptTiles(ids)) map.refreshTiles('case-tiles', ids);
        else map.refreshTiles('case-tiles');
      };
      const attempt = () => {
        const still = performance.now() - movedAt;
        if (still < RELOAD_STILL_MS && Date.now() - asked < RELOAD_AT_MOST_MS) {
          refreshTimer = setTimeout(attempt, RELOAD_STILL_MS - still);
          return;
        }
        // Tiles loading: the reload waits for the map to be idle, then asks again whether the
        // view is still (a view moved frame by frame is idle between its frames).
        if (map.areTilesLoaded()) reload();
        else map.once('idle', attempt);
      };
      refreshTimer = setTimeout(attempt, wait);
    },
    // How many times the tiles were reloaded for live changes.
    tileRefreshes: () => refreshes,
    // Whether a reload of the tiles for live changes waits to be done.
    tileReloadPending: () => refreshTimer !== null,
    densityShown,
    showDensity(on) {
      densityOn = on;
      if (tileUrl === null) {
        if (map.getLayer('density')) map.setLayoutProperty('density', 'visibility', on ? 'visible' : 'none');
        redraw();
      } else {
        filterTiles();
      }
    },
    // The areas of each level as outlines (a level's finer ones from a zoom on), each selectable,
    // and the names of the districts and streets (the two coarsest levels of three or more). A
    // level whose outlines do not show at this zoom waits for drawLaterAreas() (or the first move
    // of the view): the map's worker indexes every outline it is given, a few hundred ms for a
    // city's streets, and the first map does not need them.
    drawAreas(byLevel) {
      names = byLevel.filter(([level]) => level === 0 || (level === 1 && byLevel.length >= 3))
        .flatMap(([level, features]) => features.filter((f) => f.properties.label).map((f) => ({
          level, name: f.properties.name || f.properties.code, at: ctx.shift({ type: 'Point', coordinates: f.properties.label }).coordinates })));
      updateAreaNames();
      for (const [level, features] of byLevel) {
        if (map.getZoom() < areaMinZoom(level)) laterAreas.push([level, features]);
        else addAreaLevel(level, features);
      }
      if (laterAreas.length) map.once('movestart', drawLaterAreas);
    },
    drawLaterAreas,
    // Unmarks `previous` (an area's properties, or null), marks and frames `next` (an area
    // feature); no `next` goes back to the whole city.
    highlightArea(previous, next) {
      drawLaterAreas();
      if (previous) map.setFilter(`areas-${previous.level}-fill`, selectedOnly(null));
      if (!next) {
        map.easeTo(HOME);
        return;
      }
      map.setFilter(`areas-${next.properties.level}-fill`, selectedOnly(next.properties.code));
      const b = new maplibregl.LngLatBounds();
      mapCoords(ctx.shift(next.geometry), (c) => { b.extend(c); return c; });
      map.fitBounds(b, { padding: 40, duration: 600 });
    },
    renderedCaseTotal,
    // The area names shown now.
    areaNames: () => [...nameMarkers.values()].map((m) => m.getElement().textContent),
    // Frames every case the map holds.
    fitAll() {
      const b = new maplibregl.LngLatBounds();
      for (const f of cases.all()) if (f.geometry) b.extend(ctx.shift(f.geometry).coordinates);
      if (!b.isEmpty()) map.fitBounds(b, { padding: 60, duration: 0, maxZoom: 15 });
    },
  };
}
