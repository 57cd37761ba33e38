// The center's API as the pages use it: the token, JSON calls with readable errors, the
// category catalog (Open311 services in both languages) and the live event stream.

// A token given in the URL's fragment (#token=..., as the demo prints it; never sent to a
// server) is kept for this page and removed from the address bar.
export function takeToken(page) {
  const key = `gw.token.${page}`;
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) {
    localStorage.setItem(key, hash.get('token'));
    hash.delete('token');
    history.replaceState(null, '', location.pathname + location.search + (hash.toString() ? `#${hash}` : ''));
  }
  return {
    get: () => localStorage.getItem(key),
    set: (v) => localStorage.setItem(key, v),
    clear: () => localStorage.removeItem(key),
  };
}

export class ApiError extends Error {
  constructor(status, message, parameter) {
    super(message);
    this.status = status;
    this.parameter = parameter;
  }
}

// fetch + JSON; throws ApiError with the center's message (a network failure is a TypeError).
export async function call(path, { token, method = 'GET', body, headers = {}, raw = false } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof URLSearchParams)) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers: h, body });
  if (raw) return res;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const msg = (data && (data.error || (Array.isArray(data) && data[0] && data[0].description))) || `HTTP ${res.status}`;
    throw new ApiError(res.status, msg, data && data.parameter);
  }
  return data;
}

// Category code -> {zh, en, group (department code), department: {zh, en}}.
export async function loadCatalog() {
  const [zh, en] = await Promise.all([call('/open311/v2/services.json?locale=zh'), call('/open311/v2/services.json?locale=en')]);
  const out = new Map();
  for (const s of en) out.set(s.service_code, { code: s.service_code, en: s.service_name, group: s.group });
  for (const s of zh) if (out.has(s.service_code)) out.get(s.service_code).zh = s.service_name;
  return out;
}

// Server-sent events of the cases this token may see; onEvent(json) per case event, onState
// ('live' | 'reconnecting') as the connection comes and goes. EventSource resumes by itself with
// Last-Event-ID.
export function liveEvents(token, onEvent, onState) {
  const es = new EventSource(`/api/v1/events?access_token=${encodeURIComponent(token)}`);
  es.addEventListener('open', () => onState('live'));
  es.addEventListener('error', () => onState(es.readyState === EventSource.CLOSED ? 'offline' : 'reconnecting'));
  es.addEventListener('case', (e) => {
    try {
      onEvent(JSON.parse(e.data));
    } catch (err) {
      console.warn('live event not understood', err);
    }
  });
  return es;
}

// A photo from a file input, scaled to at most `side` pixels and re-encoded as JPEG: a phone's
// 12-megapixel picture becomes ~200 KB before it is sent.
export async function shrinkPhoto(file, side = 1280, quality = 0.8) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((ok) => canvas.toBlob(ok, 'image/jpeg', quality));
}

// The Blob a data: URL holds (a queued photo kept in localStorage), decoded here rather than
// fetched: the pages' Content-Security-Policy lets them connect to the center only.
export function dataUrlToBlob(url) {
  const comma = url.indexOf(',');
  const type = url.slice(5, comma).split(';')[0] || 'application/octet-stream';
  const bytes = atob(url.slice(comma + 1));
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; ++i) out[i] = bytes.charCodeAt(i);
  return new Blob([out], { type });
}

// A random id (works on plain http, where crypto.randomUUID does not).
export function randomId() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// Small DOM builder: el('div', {class: 'x', onclick: f}, 'text', child...). Text is never parsed
// as HTML.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

// "2h 05m", "4m 10s" for a duration in milliseconds.
export function formatSpan(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(s % 60).padStart(2, '0')}s`;
}

export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : '');
