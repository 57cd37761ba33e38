// Scan to report (一楼一码): the QR code on a building's door opens /report?b=CODE. The place comes
// from the building registry; the resident picks a category, describes the problem, may add a
// photo, and submits an Open311 request; the request number and its progress stay on the phone.
import '../common/style.css';
import { call, el, shrinkPhoto } from '../common/api.js';
import { lang, setLang, t } from '../common/i18n.js';

const root = document.getElementById('root');
const MINE = 'gw.report.mine';
const code = new URLSearchParams(location.search).get('b') || '';
const r = {};
window.gridwatch = r;

async function boot() {
  document.body.className = 'layout-phone';
  document.title = t('report_title');
  const [config, services, building] = await Promise.all([
    call('/web/config.json'),
    call(`/open311/v2/services.json?locale=${lang()}`),
    code ? call(`/buildings/${encodeURIComponent(code)}`).catch(() => null) : null,
  ]);
  Object.assign(r, { config, services, building });
  render();
}

function mine() {
  return JSON.parse(localStorage.getItem(MINE) || '[]');
}

function render() {
  const { config, services, building } = r;
  const page = el('div', { class: 'phone-page' },
    el('div', { class: 'row' }, el('h1', { class: 'grow' }, t('report_title')),
      el('button', { onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); boot(); } }, lang() === 'zh' ? 'EN' : '中文')));
  if (!building) {
    page.append(el('div', { class: 'banner', id: 'no-building' }, `${t('unknown_building')}: ${code || '—'}`));
  } else {
    page.append(el('div', { class: 'card', id: 'building' }, el('h3', {}, building.name), el('div', {}, building.address), el('div', { class: 'muted' }, `${t('building')} ${building.code}`)));
  }
  if (building && !config.report_api_key) page.append(el('div', { class: 'banner' }, t('report_off')));
  if (building && config.report_api_key) page.append(reportForm(building, services, config.report_api_key));
  page.append(el('div', { id: 'result' }), el('h2', {}, t('my_requests')), el('div', { id: 'mine' }));
  root.replaceChildren(page);
  renderMine();
}

function reportForm(building, services, apiKey) {
  const service = el('select', { name: 'service_code', required: true }, el('option', { value: '' }, `— ${t('category')} —`),
    ...services.map((s) => el('option', { value: s.service_code }, s.service_name)));
  const description = el('textarea', { name: 'description', required: true, maxlength: 4000 });
  const photo = el('input', { type: 'file', name: 'photo', accept: 'image/*', capture: 'environment' });
  const phone = el('input', { type: 'tel', name: 'phone', autocomplete: 'tel' });
  const error = el('div', { class: 'error', id: 'report-error' });
  const submit = el('button', { class: 'primary', type: 'submit' }, t('submit'));
  return el('form', { class: 'report card', id: 'report', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      const form = new URLSearchParams({ api_key: apiKey, service_code: service.value, lat: String(building.lat), long: String(building.lon),
        address_string: `${building.address} ${building.name}`.trim(), description: description.value, 'attribute[building]': building.code });
      if (phone.value.trim()) form.set('phone', phone.value.trim());
      if (photo.files[0]) {
        const blob = await shrinkPhoto(photo.files[0]);
        const up = await call(`/open311/v2/media.json?api_key=${encodeURIComponent(apiKey)}`, { method: 'POST', body: blob, headers: { 'Content-Type': 'image/jpeg' } });
        form.set('media_url', new URL(up.url, location.origin).href);
      }
      const [receipt] = await call('/open311/v2/requests.json', { method: 'POST', body: form });
      localStorage.setItem(MINE, JSON.stringify([{ id: receipt.service_request_id, at: new Date().toISOString(), building: building.code }, ...mine()].slice(0, 20)));
      document.getElementById('result').replaceChildren(el('div', { class: 'banner ok', id: 'receipt' },
        el('div', {}, `${t('submitted')} · ${t('request_id')}: `, el('b', { id: 'request-id' }, receipt.service_request_id)),
        el('div', {}, receipt.service_notice || '')));
      e.target.reset();
      renderMine();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  } },
  el('label', {}, t('category'), service),
  el('label', {}, t('describe'), description),
  el('label', {}, `${t('photo')} (${t('optional')})`, photo),
  el('label', {}, `${t('phone_no')} (${t('optional')})`, phone),
  error, submit);
}

function renderMine() {
  const box = document.getElementById('mine');
  box.replaceChildren(...mine().map((m) => {
    const state = el('span', { class: 'muted' });
    return el('div', { class: 'card', dataset: { id: m.id } }, el('div', { class: 'row' }, el('b', { class: 'grow' }, m.id),
      el('button', { class: 'check', onclick: async () => {
        try {
          const [req] = await call(`/open311/v2/requests/${encodeURIComponent(m.id)}.json`);
          state.textContent = `${req.status} · ${req.status_notes || ''}`;
        } catch (e) {
          state.textContent = e.message;
        }
      } }, t('check_state'))), state);
  }));
}

boot().catch((e) => {
  console.error(e);
  root.replaceChildren(el('p', { class: 'error' }, `${t('error')}: ${e.message}`));
});
