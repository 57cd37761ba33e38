// The cases on the map and their live updates: the first load, then every event of
// /api/v1/events fetches its case again (batched every 150 ms; a burst of more than 200 is one
// reload), so the map follows the center. `onCase(id)` after each case fetched again (the panel
// shows it afresh), `onBatch()` after each batch (the area's rates), `onState(s)` as the stream
// comes and goes ('live', 'reconnecting', ...), `onOpened(feature)` for a case new to the map.
import { call, liveEvents, ApiError } from '../common/api.js';
import { OPEN_WORK } from './state.js';

// The map's few properties of a case from its full view.
function mapFeature(f) {
  const p = f.properties;
  return { type: 'Feature', id: f.id, geometry: f.geometry, properties: {
    id: p.id, category: p.category, priority: p.priority, status: p.status, state: p.state, source: p.source.kind,
    reports: p.reports, proactive: p.proactive, preempted: p.preempted, overdue: p.overdue.length > 0 } };
}

export function createLiveCases(ctx, cases, { onCase, onBatch, onState, onOpened = () => {} }) {
  let loadedAt = 0;
  let lastEventAt = 0;
  let offline = false;
  const pending = new Set();
  let flushTimer = null;

  async function load() {
    const fc = await call(`/api/v1/orders?status=open&state=${OPEN_WORK.join(',')}&fields=map`, { token: ctx.token });
    cases.replaceAll(fc.features);
    loadedAt = performance.now();
  }

  async function refresh(id) {
    try {
      const f = await call(`/api/v1/orders/${encodeURIComponent(id)}`, { token: ctx.token });
      const p = f.properties;
      if (p.status !== 'open' || !OPEN_WORK.includes(p.state)) cases.remove(f.id);
      else {
        const fresh = !cases.has(f.id);
        cases.put(mapFeature(f));
        if (fresh) onOpened(mapFeature(f));
      }
      onCase(f.id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) cases.remove(id);
      else console.warn(`case ${id} not refreshed: ${e.message}`);
    }
  }

  async function flush() {
    flushTimer = null;
    const ids = [...pending];
    pending.clear();
    if (ids.length > 200) await load(); // a burst: one reload is cheaper
    else await Promise.all(ids.map(refresh));
    onBatch();
  }

  function onEvent(ev) {
    lastEventAt = Date.now();
    for (const id of [ev.case_id, ev.new_case_id]) if (id) pending.add(id);
    if (!flushTimer) flushTimer = setTimeout(flush, 150);
  }

  return {
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
