// The case panel: what the case is, where, its SLA clocks, every source with its evidence
// (snapshot, clip, photo), the actions and the timeline. Only the latest load is shown: a
// panel opened again, or closed, while an answer was on its way ignores that answer.
import { call, el, formatSpan, formatTime } from '../common/api.js';
import { categoryName, stateName, t } from '../common/i18n.js';
import { actionViews } from './actions.js';

// The panel in the element #panel.
export function createPanel(ctx) {
  let openId = null;
  let loads = 0; // the loads so far: only the latest one is shown

  async function open(id) {
    const panel = document.getElementById('panel');
    openId = id;
    const load = ++loads;
    panel.classList.remove('hidden');
    let f;
    try {
      f = await call(`/api/v1/orders/${encodeURIComponent(id)}`, { token: ctx.token });
    } catch (e) {
      if (load === loads) panel.replaceChildren(el('button', { onclick: close }, t('close')), el('p', { class: 'error' }, e.message));
      return;
    }
    if (load !== loads || openId !== id) return;
    // After a step the panel shows the case it led to, unless another case was opened while the
    // step was on its way: the panel stays with the case the user chose last.
    const reopen = (next) => (openId === id ? open(next) : undefined);
    panel.replaceChildren(caseView(ctx, f, { close, reopen }));
    tickSla();
  }

  function close() {
    openId = null;
    document.getElementById('panel').classList.add('hidden');
  }

  return { open, close, openId: () => openId };
}

function caseView(ctx, f, { close, reopen }) {
  const p = f.properties;
  const due = (label, at, done) => (at && !done ? el('div', { class: 'row' }, el('span', { class: 'muted' }, label), el('span', { class: 'badge sla', dataset: { due: at } })) : null);
  return el('div', { class: 'panel-body' },
    el('div', { class: 'row' }, el('h1', { class: 'grow', id: 'panel-category' }, categoryName(ctx.catalog, p.category)), el('button', { onclick: close, id: 'panel-close' }, t('close'))),
    el('div', { class: 'muted' }, p.id),
    el('div', { class: 'row' },
      el('span', { class: 'badge', id: 'panel-state' }, stateName(p.state)),
      el('span', { class: 'badge' }, `${t('priority')}: ${p.priority}`),
      p.proactive ? el('span', { class: 'badge live' }, t('proactive_only').replace(/^.*?(主动发现|Proactive).*$/, '$1')) : null,
      p.verified_by_sensor ? el('span', { class: 'badge live' }, t('verified')) : null,
      ...p.overdue.map((o) => el('span', { class: 'badge late' }, `${t('late')}: ${o}`))),
    p.address ? el('div', {}, p.address) : null,
    f.geometry ? el('div', { class: 'muted', id: 'panel-coords' }, coordText(ctx, f.geometry)) : null,
    el('div', { class: 'muted' }, [p.unit_code, p.assignee].filter(Boolean).join(' · ')),
    due(t('respond_due'), p.respond_due, p.responded_at),
    due(t('resolve_due'), p.resolve_due, p.resolved_at),
    p.verification && p.state === 'verifying' ? el('div', { class: 'row', id: 'panel-verification' },
      el('span', { class: 'muted' }, `${t('verification')} (${p.verification.by}):`),
      el('span', {}, p.verification.verifier || t('dispatcher_verifies'))) : null,
    due(t('verify_due'), p.verification && p.verification.due, p.state !== 'verifying'),
    el('h2', {}, `${t('sources')} (${p.sources.length})`),
    el('div', { id: 'panel-sources' }, ...p.sources.map((s) => sourceView(ctx, f.id, s))),
    p.tasks.length ? el('h2', {}, t('tasks')) : null,
    ...p.tasks.map((k) => el('div', { class: 'event' }, `${k.unit}: ${k.state}`, k.note ? ` — ${k.note}` : '')),
    el('h2', {}, t('actions')),
    el('div', { class: 'actions', id: 'panel-actions' }, ...actionViews(ctx, f, reopen)),
    el('h2', {}, t('timeline')),
    el('div', { id: 'panel-timeline' }, ...p.history.slice().reverse().map(historyView)));
}

// The case's position in the map's coordinate system: WGS-84, or GCJ-02 on a Chinese base map.
function coordText(ctx, geometry) {
  const [lon, lat] = ctx.shift(geometry).coordinates;
  const crs = ctx.config.tiles && ctx.config.tiles.crs === 'gcj02' ? 'GCJ-02' : 'WGS-84';
  return `${lon.toFixed(6)}, ${lat.toFixed(6)} (${crs})`;
}

function sourceView(ctx, caseId, s) {
  const ev = s.evidence || {};
  const attrs = s.attributes && typeof s.attributes === 'object' ? Object.entries(s.attributes) : [];
  const kind = ['camera', 'sensor', 'patrol'].includes(s.kind) ? s.kind : 'hotline';
  return el('div', { class: `source ${kind}` },
    el('div', { class: 'row' }, el('b', {}, t(kind)), el('span', { class: 'muted' }, `${s.channel} · ${formatTime(s.reported_at)}`)),
    s.description ? el('div', { class: 'description' }, s.description) : null,
    attrs.length ? el('div', { class: 'muted' }, `${t('readings')}: `, attrs.map(([k, v]) => `${k} = ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')) : null,
    ev.snapshot_jpeg ? el('img', { class: 'snapshot', alt: t('snapshot'), src: `data:image/jpeg;base64,${ev.snapshot_jpeg}` }) : null,
    ev.clip && ev.clip.name ? clipView(ctx, caseId, ev.clip) : null,
    ...(Array.isArray(ev.photos) ? ev.photos.slice(1) : []).map((u) => el('a', { href: u, target: '_blank', rel: 'noopener noreferrer' }, el('img', { class: 'snapshot', alt: t('photo'), src: u }))),
    s.media_url ? el('a', { href: s.media_url, target: '_blank', rel: 'noopener noreferrer' }, el('img', { class: 'snapshot', alt: t('photo'), src: s.media_url })) : null);
}

// The camera's clip, fetched by the center from the agent that keeps it: played in the panel
// when it is MP4 (H.264) or WebM (VP8); a Motion-JPEG AVI (a box whose FFmpeg has neither
// encoder) is a download link.
function clipView(ctx, caseId, clip) {
  const url = `/api/v1/orders/${encodeURIComponent(caseId)}/clip?name=${encodeURIComponent(clip.name)}&access_token=${encodeURIComponent(ctx.token)}`;
  const link = el('a', { href: url, target: '_blank', rel: 'noopener' }, `▶ ${t('clip')} (${clip.name})`);
  if (!/\.(mp4|webm)$/.test(clip.name)) return link;
  return el('div', { class: 'clip' },
    el('video', { class: 'snapshot', src: url, controls: true, muted: true, playsinline: true, preload: 'auto' }),
    link);
}

function historyView(h) {
  const d = h.detail || {};
  const what = [h.action, d.to ? `→ ${stateName(d.to)}` : '', d.unit ? `(${d.unit})` : '', d.reason || ''].filter(Boolean).join(' ');
  return el('div', { class: 'event' },
    el('div', { class: 'at' }, `${formatTime(h.at)} · ${h.actor || ''}`),
    el('div', {}, what),
    d.photo_url ? el('img', { class: 'snapshot', src: d.photo_url, alt: t('photo') }) : null);
}

// The SLA badges count down every second.
function tickSla() {
  for (const b of document.querySelectorAll('.sla')) {
    const left = new Date(b.dataset.due).getTime() - Date.now();
    b.textContent = left >= 0 ? `${formatSpan(left)} ${t('remaining')}` : `${t('late')} ${formatSpan(left)}`;
    b.classList.toggle('late', left < 0);
  }
}
setInterval(tickSla, 1000);
