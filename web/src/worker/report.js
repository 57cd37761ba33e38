// 巡查上报: a problem the worker finds on the round — a category (those most reported in their grid
// first), up to three photos shrunk on the phone, the phone's position with its accuracy, a note.
// It goes through the queue like a step, so it is sent once even offline (docs/patrol.md).
import { el, shrinkPhoto } from '../common/api.js';
import { categoryName, t } from '../common/i18n.js';
import { pickPoint } from './pick.js';
import { toDataUrl } from './queue.js';

// Catalog codes, the grid's most frequent among `cases` first, then the catalog's order.
export function categoriesFor(catalog, cases) {
  const count = new Map();
  for (const f of cases) count.set(f.properties.category, (count.get(f.properties.category) || 0) + 1);
  const codes = [...catalog.keys()];
  return codes.sort((a, b) => (count.get(b) || 0) - (count.get(a) || 0) || codes.indexOf(a) - codes.indexOf(b));
}

// The form; `submit(item)` queues the report.
export function reportForm(w, submit) {
  const category = el('select', { name: 'category' },
    ...categoriesFor(w.catalog, w.cases).map((c) => el('option', { value: c }, categoryName(w.catalog, c))));
  const photos = el('input', { type: 'file', name: 'photos', accept: 'image/*', capture: 'environment', multiple: true });
  const note = el('textarea', { name: 'note', placeholder: t('note') });
  // The phone's fix, unless the worker moved the point on the map (w.reportPoint).
  const point = () => w.reportPoint || w.position;
  const whereText = () => {
    const p = point();
    if (!p) return t('position_unknown');
    const how = w.reportPoint ? t('moved_on_map') : p.accuracy_m ? `${t('accuracy')} ${Math.round(p.accuracy_m)} m` : '';
    return `${t('my_position')}: ${p.lon.toFixed(6)}, ${p.lat.toFixed(6)}${how ? ` (${how})` : ''}`;
  };
  const where = el('div', { class: 'muted', id: 'report-position' }, whereText());
  const send = el('button', { class: 'primary', type: 'submit', disabled: !point() }, t('send'));
  const mapBox = el('div', { id: 'report-map' });
  const move = el('button', { type: 'button', id: 'report-move', onclick: async () => {
    move.disabled = true;
    await pickPoint(w, mapBox, w.reportPoint || w.position, (p) => {
      w.reportPoint = { ...p, accuracy_m: null };
      where.textContent = whereText();
      send.disabled = false;
    });
  } }, t('move_on_map'));
  const form = el('form', { class: 'report', id: 'report-form', onsubmit: async (e) => {
    e.preventDefault();
    const p = point();
    if (!p) return;
    const files = [...photos.files].slice(0, 3);
    const data = [];
    for (const f of files) data.push(await toDataUrl(await shrinkPhoto(f)));
    submit({ kind: 'report', category: category.value, note: note.value, photos_data: data,
      lon: p.lon, lat: p.lat, accuracy_m: p.accuracy_m ?? null });
    w.reportPoint = null;
    form.reset();
  } },
  el('h2', {}, t('report_problem')),
  // The grid's open cases nearest the phone first: the problem may be known already (a report of
  // it joins that case on the center all the same).
  w.cases.length ? el('div', { class: 'muted', id: 'report-nearby' }, `${t('nearby_cases')}: `,
    w.cases.slice(0, 3).map((f) => `${categoryName(w.catalog, f.properties.category)}${f.properties.distance_m !== undefined ? ` ${Math.round(f.properties.distance_m)} m` : ''}`).join(' · ')) : null,
  el('label', {}, t('category'), category),
  el('label', {}, t('photos'), photos),
  el('label', {}, t('note'), note),
  where,
  move,
  mapBox,
  send);
  return form;
}
