// The phone's outbox: steps and patrol reports taken without a signal wait here (localStorage)
// and go out in order when it returns. Each carries a request_id, so one whose answer was lost is
// answered again by the center instead of being taken twice; its photos are uploaded first and
// their URLs kept with it, so a retry does not upload them again.
import { ApiError, call, dataUrlToBlob, randomId } from '../common/api.js';

const KEY = 'gw.worker.queue';

// Photos as data: URLs (kept in localStorage while offline) from shrunk Blobs.
export const toDataUrl = (blob) => new Promise((ok) => { const r = new FileReader(); r.onload = () => ok(r.result); r.readAsDataURL(blob); });

// `w` the page's state (token, me); `onChange()` after every change, `onRefused(item, message)`
// for an item the center refused (it is dropped), `onSent(item, answer)` for each one sent.
export function createQueue(w, { onChange, onRefused, onSent }) {
  const all = () => JSON.parse(localStorage.getItem(KEY) || '[]');
  const save = (items) => localStorage.setItem(KEY, JSON.stringify(items));
  const replaceFirst = (item) => save([item, ...all().slice(1)]);

  async function uploadPhotos(item) {
    // Items queued before reports existed held one `photo`.
    if (item.photo) { item.photos_data = [item.photo]; delete item.photo; }
    item.photos = item.photos || [];
    while (item.photos_data && item.photos_data.length) {
      const blob = dataUrlToBlob(item.photos_data[0]);
      const up = await call('/api/v1/media', { token: w.token, method: 'POST', body: blob, headers: { 'Content-Type': blob.type } });
      item.photos.push(up.url);
      item.photos_data.shift();
      replaceFirst(item);
    }
  }

  async function send(item) {
    await uploadPhotos(item);
    if (item.kind === 'report') {
      return call(`/api/v1/workers/${encodeURIComponent(w.me.name)}/reports`, {
        token: w.token, method: 'POST',
        body: { category: item.category, lon: item.lon, lat: item.lat, accuracy_m: item.accuracy_m ?? null, note: item.note || '',
          photos: item.photos, request_id: item.request_id, observed_at: item.queued_at },
      });
    }
    return call(`/api/v1/orders/${encodeURIComponent(item.case_id)}/actions`, {
      token: w.token, method: 'POST',
      body: { action: item.action, reason: item.note || '', request_id: item.request_id, photo_url: item.photos[0] || '' },
    });
  }

  let flushing = false;
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      for (;;) {
        const items = all();
        if (!items.length) break;
        const item = items[0];
        try {
          onSent(item, await send(item));
        } catch (e) {
          if (e instanceof TypeError || (e instanceof ApiError && e.status >= 500)) break; // no signal: later
          onRefused(item, e.message); // the case moved on, another grid's: tell the worker, drop it
        }
        save(all().filter((i) => i.request_id !== item.request_id));
      }
    } finally {
      flushing = false;
    }
    onChange();
  }

  return {
    all,
    add(item) {
      save([...all(), { request_id: randomId(), queued_at: new Date().toISOString(), kind: 'step', ...item }]);
      onChange();
      flush();
    },
    flush,
  };
}
