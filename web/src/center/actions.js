// The dispatcher's actions in the case panel: the lifecycle steps the center allows this token
// now (dispatch with an optional unit, the others with a reason), summoning units (吹哨报到),
// merging into another case and splitting sources off. `reopen(id)` shows a case again after a
// step (the same one, or the one the step led to).
import { call, el } from '../common/api.js';
import { categoryName, t } from '../common/i18n.js';

const DANGEROUS = ['cancel', 'mark_duplicate', 'reject'];

export function actionViews(ctx, f, reopen) {
  const p = f.properties;
  const may = ctx.me.may;
  const out = [];
  const msg = el('div', { class: 'error', id: 'panel-error' });
  const post = (path, body) => call(`/api/v1/orders/${encodeURIComponent(f.id)}/${path}`, { token: ctx.token, method: 'POST', body });
  // Runs a request and shows the case it leads to, or its error under the actions.
  const run = async (request) => {
    msg.textContent = '';
    try {
      await reopen(await request());
    } catch (e) {
      msg.textContent = e.message;
    }
  };
  const step = (action, extra = {}) => run(async () => {
    await post('actions', { action, reason: extra.reason || '', unit: extra.unit || '', category: extra.category || '' });
    return f.id;
  });
  const form = (attrs, submit, ...children) =>
    el('form', { ...attrs, onsubmit: (e) => { e.preventDefault(); submit(); } }, ...children);

  // The steps the center says this token may take now (the lifecycle's table and the role).
  const allowed = p.allowed_actions || [];
  const simple = allowed.filter((a) => a !== 'dispatch');
  if (allowed.includes('dispatch')) {
    const unit = el('input', { placeholder: `${t('unit')} (${t('optional')})`, name: 'unit' });
    out.push(form({ id: 'form-dispatch' }, () => step('dispatch', { unit: unit.value.trim() }),
      el('div', { class: 'row' }, unit, el('button', { class: 'primary', type: 'submit' }, t('dispatch')))));
    // 智能派单: the classifier's top 3 for the first ticket that has a suggestion, one click each
    // (the choice becomes a training label); a safety word says a person decides.
    const sug = (p.sources || []).map((src) => src.suggestion).find((x) => x);
    if (sug) {
      out.push(el('div', { id: 'suggestion', class: 'suggestion' },
        el('b', {}, `${t('suggested')} (${sug.model})`),
        sug.safety ? el('div', { class: 'error', id: 'suggestion-safety' }, `${t('safety_word')}: ${sug.safety}`) : null,
        el('div', { class: 'row' }, ...(sug.top3 || []).map((c) => el('button', {
          dataset: { category: c.category },
          onclick: () => step('dispatch', { unit: unit.value.trim(), category: c.category, reason: `${t('suggested')} p=${c.p.toFixed(2)}` }),
        }, `${t('dispatch_as')} ${categoryName(ctx.catalog, c.category)} · ${Math.round(c.p * 100)}%`)))));
    }
  }
  if (simple.length)
    out.push(el('div', { class: 'row' }, ...simple.map((a) => el('button', {
      class: DANGEROUS.includes(a) ? 'danger' : '', dataset: { action: a },
      onclick: () => step(a, { reason: prompt(t('reason')) || '' }),
    }, t(a === 'close' ? 'close_case' : a)))));
  if (['accepted', 'in_progress'].includes(p.state) && may.summon) {
    const units = el('input', { placeholder: t('units'), required: true });
    const reason = el('input', { placeholder: t('reason'), required: true });
    out.push(form({}, () => run(async () => {
      await post('summon', { units: units.value.split(/[,，\s]+/).filter(Boolean), reason: reason.value });
      return f.id;
    }), el('b', {}, `${t('summon')} (吹哨报到)`), units, reason, el('button', { type: 'submit' }, t('summon'))));
  }
  if (may.split && allowed.includes('mark_duplicate')) {
    const into = el('input', { name: 'into', placeholder: t('merge_into'), required: true });
    const reason = el('input', { name: 'reason', placeholder: t('reason'), required: true });
    out.push(form({ id: 'form-merge' }, () => run(async () => (await post('merge', { into: into.value.trim(), reason: reason.value })).into),
      el('b', {}, t('merge')), into, reason, el('button', { type: 'submit' }, t('merge'))));
  }
  if (p.sources.length > 1 && may.split) {
    const boxes = p.sources.map((s) => el('input', { type: 'checkbox', value: s.id }));
    const reason = el('input', { placeholder: t('reason'), required: true });
    out.push(form({}, () => run(async () => (await post('split', { sources: boxes.filter((b) => b.checked).map((b) => b.value), reason: reason.value })).case_id),
      el('b', {}, `${t('split')} — ${t('select_sources')}`), ...boxes.map((b) => el('label', {}, b, b.value)), reason,
      el('button', { type: 'submit' }, t('split'))));
  }
  out.push(msg);
  return out;
}
