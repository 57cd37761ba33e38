// The cases on the map and their live updates: the first load, then every event of
// /api/v1/events fetches its case again (batched every 150 ms; a burst of more than 200 is one
// reload), so the map follows the center. `onCase(id)` after each case fetched again (the panel
// shows it afresh), `onBatch(places)` after each batch (the area's rates, the map's tiles; `places`
// the [lon, lat] of the changed cases, before and after, or null when a place is not known or the
// batch was one reload), `onState(s)`
// as the stream comes and goes ('live', 'reconnecting', ...), `onOpened(feature)` for a case new
// to the map, `onMany()` when a load finds TILES_FROM open cases or more (the map then draws the
// center's tiles, and the page holds only the cases it hears of; a later load — a burst, the
// stream back — may find them too).
import { call, liveEvents, ApiError } from '../common/api.js';
import { OPEN_WORK } from './state.js';

// From this many open cases on the map draws the center's tiles (docs/web.md).
export const TILES_FROM = 5000;
// A case first heard of with tiles counts as new (the ticker) when it opened this recently.
const NEW_MS = 10 * 60_000;

// The map's few properties of a case from its full view.
function mapFeature(f) {
  const p = f.properties;
  return { type: 'Feature', id: f.id, geometry: f.geometry, properties: {
    id: p.id, category: p.category, priority: p.priority, status: p.status, state: p.state, source: p.source.kind,
    reports: p.reports, proactive: p.proactive, preempted: p.preempted, overdue: p.overdue.length > 0 } };
}

export function createLiveCases(ctx, cases, { onCase, onBatch, onState, onOpened = () => {}, onMany = () => {}, mode = 'auto' }) {
  let loadedAt = 0;
  let many = false; // TILES_FROM open cases or more: the map draws tiles
  let lastEventAt = 0;
  let offline = false;
  const pending = new Map(); // case id -> whether an event may have moved it (a merge, a split)
  let flushTimer = null;

  // The open cases: all of them, or with tiles none (the tiles draw them). How many there are
  // decides, unless `mode` is 'tiles' or 'geojson'.
  const open = `/api/v1/orders?status=open&state=${OPEN_WORK.join(',')}`;
  const count = () => call(`${open}&fields=count`, { token: ctx.token });
  // The first count is asked at once, while the map loads its style.
  let firstCount = mode === 'auto' ? count() : null;
  if (firstCount) firstCount.catch(() => {}); // a failure is load()'s to report

  // Decides how the cases are drawn (how many are open, unless told) and, with tiles, has the
  // map draw them (onMany); true with tiles.
  async function choose() {
    if (mode === 'auto' && !many) {
      const answer = firstCount || count();
      firstCount = null;
      many = (await answer).count >= TILES_FROM;
    }
    if (mode === 'tiles') many = true;
    if (many) {
      cases.replaceAll([]);
      onMany();
    }
    return many;
  }

  // Loads the cases (none with tiles: the tiles draw them); `chosen` is choose()'s answer when
  // the caller asked it already.
  async function load(chosen = choose()) {
    if (!(await chosen)) cases.replaceAll((await call(`${open}&fields=map`, { token: ctx.token })).features);
    loadedAt = performance.now();
  }

  // Fetches case `id` again; answers where it is and was on the map ([lon, lat] each; none
  // without a position), or null when that is not known: not fetched, gone unseen, or maybe
  // moved (`mayMove`: a report that joined it or a split can change its primary report, whose
  // place is the case's) from a place the page never held.
  async function refresh(id, mayMove) {
    const before = cases.get(id)?.geometry;
    try {
      const f = await call(`/api/v1/orders/${encodeURIComponent(id)}`, { token: ctx.token });
      const p = f.properties;
      if (p.status !== 'open' || !OPEN_WORK.includes(p.state)) cases.remove(f.id);
      else {
        const fresh = !cases.has(f.id) && (!many || Date.now() - Date.parse(p.opened_at) < NEW_MS);
        cases.put(mapFeature(f));
        if (fresh) onOpened(mapFeature(f));
      }
      onCase(f.id);
      if (mayMove && !before) return null;
      return [before, f.geometry].filter(Boolean).map((g) => g.coordinates);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        cases.remove(id);
        return before ? [before.coordinates] : null;
      }
      console.warn(`case ${id} not refreshed: ${e.message}`);
      return null;
    }
  }

  async function flush() {
    flushTimer = null;
    const batch = [...pending];
    pending.clear();
    let places = null;
    if (batch.length > 200) await load(); // a burst: one reload is cheaper
    else {
      const each = await Promise.all(batch.map(([id, mayMove]) => refresh(id, mayMove)));
      if (!each.includes(null)) places = each.flat();
    }
    onBatch(places);
  }

  function onEvent(ev) {
    lastEventAt = Date.now();
    const mayMove = ev.type === 'merged' || ev.type === 'split';
    for (const id of [ev.case_id, ev.new_case_id]) if (id) pending.set(id, pending.get(id) || mayMove);
    if (!flushTimer) flushTimer = setTimeout(flush, 150);
  }

  return {
    choose,
    load,
    loadedAt: () => loadedAt,
    lastEventAt: () => lastEventAt,
    // Follows the center's events. After an outage the cases are loaded again (events may have
    // been missed).
    follow() {
      liveEvents(ctx.token, onEvent, (s) => {
        onState(s);
        if (s === 'live' && offline) load();
        offline = s !== 'live';
      });
    },
  };
}
