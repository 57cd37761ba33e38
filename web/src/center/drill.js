// The drill-down city -> district -> street -> grid: the areas' outlines on the map, the trail,
// the period, the three rates of the selected area and its children ranked by cases (a click
// goes one level down).
import { call, el } from '../common/api.js';
import { t } from '../common/i18n.js';

const PERIODS = [7, 30, 90];
const pct = (r) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)}%`);

// The query's period: the last `days` days up to a minute from now.
function period(days) {
  const iso = (d) => d.toISOString().replace(/\.\d+Z$/, 'Z');
  const to = new Date();
  return `from=${iso(new Date(to.getTime() - days * 86400e3))}&to=${iso(new Date(to.getTime() + 60e3))}`;
}

// The drill-down in the element #drill, on `mapView` (map.js).
export function createDrill(ctx, mapView) {
  let areas = new Map(); // 'level:code' -> area feature
  let levels = []; // [{level, name}] from the coarsest
  let area = null; // the selected area's properties {code, name, level, level_name, parent}
  let days = 30;

  const key = (level, code) => `${level}:${code}`;
  function childLevel() {
    if (!levels.length) return null;
    if (!area) return levels[0];
    return levels[levels.findIndex((l) => l.level === area.level) + 1] || null;
  }

  // The areas are asked at once, while the map loads its style; load() draws them.
  let firstAreas = call('/api/v1/areas', { token: ctx.token });
  firstAreas.catch(() => {}); // a failure is load()'s to report

  // Reads the areas of every level and draws them.
  async function load() {
    const answer = firstAreas || call('/api/v1/areas', { token: ctx.token });
    firstAreas = null;
    const fc = await answer;
    areas = new Map(fc.features.map((f) => [key(f.properties.level, f.id), f]));
    const numbers = [...new Set(fc.features.map((f) => f.properties.level))].sort((a, b) => a - b);
    levels = numbers.map((l) => ({ level: l, name: fc.features.find((f) => f.properties.level === l).properties.level_name }));
    mapView.drawAreas(numbers.map((l) => [l, fc.features.filter((f) => f.properties.level === l)]));
  }

  // The drill-down's box; its figures are asked unless `stats` is false (the first load asks
  // them once the first map is drawn).
  function render({ stats = true } = {}) {
    const box = document.getElementById('drill');
    if (!box) return;
    const trail = [];
    for (let a = area; a; a = a.parent ? areas.get(key(a.level - 1, a.parent))?.properties : null) trail.unshift(a);
    box.replaceChildren(
      el('h2', {}, t('areas')),
      el('div', { class: 'crumbs' },
        el('a', { onclick: () => select(null) }, t('city')),
        ...trail.map((a) => [' › ', el('a', { onclick: () => select(a.code, a.level) }, a.name || a.code)])),
      el('div', { class: 'row' },
        el('select', { id: 'period', onchange: (e) => { days = Number(e.target.value); loadStats(); } },
          ...PERIODS.map((d) => el('option', { value: d, selected: d === days }, t(`days${d}`)))),
        el('label', {}, el('input', { type: 'checkbox', id: 'density', checked: mapView.densityShown(), onchange: (e) => mapView.showDensity(e.target.checked) }), t('density'))),
      el('div', { class: 'stats', id: 'stats' }),
      el('table', { class: 'children', id: 'children' }));
    if (stats) loadStats();
  }

  function select(code, level) {
    const f = code ? areas.get(key(level, code)) : null;
    mapView.highlightArea(area, f);
    area = f ? f.properties : null;
    render();
  }

  async function loadStats() {
    const box = document.getElementById('stats');
    if (!box || !ctx.me.may.stats) return;
    const where = area ? `&area=${encodeURIComponent(area.code)}` : '';
    const child = childLevel();
    try {
      const [all, kids] = await Promise.all([
        call(`/api/v1/stats?${period(days)}${where}&tz=Asia/Shanghai`, { token: ctx.token }),
        child ? call(`/api/v1/stats?${period(days)}${where}&by=${encodeURIComponent(child.name)}&tz=Asia/Shanghai`, { token: ctx.token }) : null,
      ]);
      const s = all.total;
      box.replaceChildren(
        ...[['cases', s.cases], ['response_rate', pct(s.response_rate)], ['resolution_rate', pct(s.resolution_rate)],
          ['satisfaction_rate', pct(s.satisfaction_rate)], ['proactive_share', pct(s.proactive_share)]]
          .map(([k, v]) => el('div', { class: 'stat', id: `stat-${k}` }, el('b', {}, String(v)), t(k))));
      const table = document.getElementById('children');
      if (!kids) return table.replaceChildren();
      const name = (code) => areas.get(key(child.level, code))?.properties.name || code || '—';
      table.replaceChildren(
        el('tr', {}, el('th', {}, t('areas')), el('th', {}, t('cases')), el('th', {}, '响应/Resp'), el('th', {}, '解决/Res'), el('th', {}, '满意/Sat')),
        ...kids.groups.filter((g) => g.key).sort((a, b) => b.cases - a.cases).slice(0, 40).map((g) =>
          el('tr', { onclick: () => select(g.key, child.level) }, el('td', {}, name(g.key)), el('td', {}, g.cases), el('td', {}, pct(g.response_rate)), el('td', {}, pct(g.resolution_rate)), el('td', {}, pct(g.satisfaction_rate)))));
    } catch (e) {
      box.replaceChildren(el('div', { class: 'error' }, e.message));
    }
  }

  return { load, render, loadStats, area: () => area };
}
