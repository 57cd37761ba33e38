// The round's track (docs/patrol.md): while the page is open on duty, the phone keeps a position
// at most every 15 s or 25 m, whichever comes later, and sends what it kept every 15 s in one
// batch; kept in localStorage while there is no signal and sent when it returns.
import { ApiError, call } from '../common/api.js';

const KEY = 'gw.worker.track';
const MIN_MS = 15_000, MIN_M = 25, BATCH = 500;

function metres(a, b) {
  const r = Math.PI / 180, R = 6371008.8;
  const x = (b.lon - a.lon) * r * Math.cos(((a.lat + b.lat) / 2) * r), y = (b.lat - a.lat) * r;
  return Math.hypot(x, y) * R;
}

export function createTrack(w) {
  const kept = () => JSON.parse(localStorage.getItem(KEY) || '[]');
  const save = (items) => localStorage.setItem(KEY, JSON.stringify(items));
  let last = kept().at(-1) || null;
  // The shift: the day the page was opened on, in the phone's own time.
  const d = new Date();
  const shift = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

  function add(pos) {
    const fix = { at: new Date(pos.timestamp || Date.now()).toISOString(), lon: pos.lon, lat: pos.lat, accuracy_m: pos.accuracy_m ?? null };
    if (last && (Date.parse(fix.at) - Date.parse(last.at) < MIN_MS || metres(last, fix) < MIN_M)) return false;
    last = fix;
    save([...kept(), fix]);
    return true;
  }

  let sending = false;
  async function flush() {
    if (sending || !w.me) return;
    sending = true;
    try {
      for (let batch = kept().slice(0, BATCH); batch.length; batch = kept().slice(0, BATCH)) {
        try {
          const r = await call(`/api/v1/workers/${encodeURIComponent(w.me.name)}/track`, { token: w.token, method: 'POST', body: { shift, positions: batch } });
          w.trackSent = (w.trackSent || 0) + r.stored;
        } catch (e) {
          if (e instanceof TypeError || (e instanceof ApiError && e.status >= 500)) return; // no signal: later
          console.warn(`track batch refused: ${e.message}`); // kept no longer: it would be refused again
        }
        const sent = new Set(batch.map((p) => p.at));
        save(kept().filter((p) => !sent.has(p.at)));
      }
    } finally {
      sending = false;
    }
  }

  setInterval(flush, MIN_MS);
  return { add, flush, kept };
}
