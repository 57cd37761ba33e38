// Moving a report's point on a map: between tall buildings the phone's fix can be tens of metres
// off. A small map, loaded only when asked (the map library is large), the worker's grid
// outlined, a marker to drag or a tap to place it. The map's own coordinates are GCJ-02 when the
// deployment's tiles are (web.tiles.crs); what is picked is given back in WGS-84.
import { call, el } from '../common/api.js';
import { gcj02ToWgs84, mapCoords, wgs84ToGcj02 } from '../common/gcj02.js';

export async function pickPoint(w, box, start, onPick) {
  const [{ default: maplibregl }] = await Promise.all([import('maplibre-gl'), import('maplibre-gl/dist/maplibre-gl.css')]);
  const config = await call('/web/config.json');
  const gcj = Boolean(config.tiles && config.tiles.crs === 'gcj02');
  const toMap = (p) => (gcj ? wgs84ToGcj02(p) : p);
  const fromMap = (p) => (gcj ? gcj02ToWgs84(p) : p);
  const style = { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#0d1b2a' } }] };
  if (config.tiles && config.tiles.type === 'raster') {
    style.sources.base = { type: 'raster', tiles: [config.tiles.url], tileSize: 256 };
    style.layers.push({ id: 'base', type: 'raster', source: 'base' });
  }
  let grid = null;
  try {
    grid = (await call('/api/v1/areas', { token: w.token })).features.find((f) => f.id === w.me.grid) || null;
  } catch {
    grid = null; // without the outline the map still places the point
  }
  // Where to start: the phone's fix, else the middle of the grid.
  let at = start;
  if (!at && grid) {
    const xs = [], ys = [];
    mapCoords(grid.geometry, (c) => { xs.push(c[0]); ys.push(c[1]); return c; });
    at = { lon: (Math.min(...xs) + Math.max(...xs)) / 2, lat: (Math.min(...ys) + Math.max(...ys)) / 2 };
  }
  if (!at) return null;
  const div = el('div', { class: 'pick-map', id: 'pick-map' });
  box.replaceChildren(div);
  const map = new maplibregl.Map({ container: div, style: config.tiles && config.tiles.type === 'vector' ? config.tiles.url : style,
    center: toMap([at.lon, at.lat]), zoom: 16, attributionControl: false });
  const marker = new maplibregl.Marker({ draggable: true }).setLngLat(toMap([at.lon, at.lat])).addTo(map);
  const picked = () => {
    const { lng, lat } = marker.getLngLat();
    const [lon, la] = fromMap([lng, lat]);
    onPick({ lon, lat: la });
  };
  marker.on('dragend', picked);
  map.on('click', (e) => { marker.setLngLat(e.lngLat); picked(); });
  map.on('load', () => {
    if (!grid) return;
    map.addSource('grid', { type: 'geojson', data: { ...grid, geometry: mapCoords(grid.geometry, toMap) } });
    map.addLayer({ id: 'grid', type: 'line', source: 'grid', paint: { 'line-color': '#4fc3f7', 'line-width': 2 } });
  });
  w.pickMap = map; // for tests
  return map;
}
