// The district's big screen (大屏, the wall layout; docs/web.md): the KPIs (open, overdue, the
// three rates and the proactive share of the last 30 days), the 30-day trend with the last 7 days
// shaded, the top categories against the 30 days before, the streets ranked on the three rates,
// and a ticker of the cases as they open. The figures are the report API's (the same a report
// file prints), refreshed every minute while the wall layout shows and the page is visible;
// the ticker follows the live events.
import { call, el } from '../common/api.js';
import { categoryName, lang, t } from '../common/i18n.js';

const REFRESH_MS = 60_000;
const TICKER = 8;

// The chart module (echarts) is loaded when the wall first shows: desks and phones never fetch it.
let charts = null;
const chartModule = async () => (charts ||= await import('../common/charts.js'));

const pct = (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);

export function createScreen(ctx) {
  const state = { report: null, ticker: [], loadedAt: 0, charts: 0 };
  const allowed = ctx.me.may && ctx.me.may.stats;

  // Only the wall shows the screen: other layouts (and a hidden tab) do not ask.
  const shown = () => document.body.classList.contains('layout-wall') && !document.hidden;

  async function load() {
    if (!allowed || !shown()) return;
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86400_000);
    state.report = await call(`/api/v1/report?kind=span&spatial=false&from=${from.toISOString()}&to=${to.toISOString()}`, { token: ctx.token });
    state.loadedAt = Date.now();
    render();
  }

  // A case that just opened (its map feature), newest first.
  function opened(f) {
    state.ticker.unshift({ id: f.id, category: f.properties.category, source: f.properties.source, at: new Date() });
    state.ticker.length = Math.min(state.ticker.length, TICKER);
    renderTicker();
  }

  function kpi(label, value, id) {
    return el('div', { class: 'stat' }, el('span', { class: 'muted' }, label), el('b', { id }, value));
  }

  function render() {
    const box = document.getElementById('screen');
    if (!box || !allowed) return;
    const r = state.report;
    if (!r) return;
    const tot = r.totals;
    // The last 7 of the days (local days, one entry each) shaded.
    const week = r.daily.length >= 7 ? r.daily[r.daily.length - 7].day : undefined;
    if (charts) for (const c of box.querySelectorAll('.chart')) charts.disposeChart(c);
    box.replaceChildren(
      el('div', { class: 'stats kpis' },
        kpi(t('open_cases'), String(r.handling.open), 'kpi-open'),
        kpi(t('overdue_cases'), String(r.handling.overdue), 'kpi-overdue'),
        kpi(t('response_rate'), pct(tot.response_rate), 'kpi-response'),
        kpi(t('resolution_rate'), pct(tot.resolution_rate), 'kpi-resolution'),
        kpi(t('satisfaction_rate'), pct(tot.satisfaction_rate), 'kpi-satisfaction'),
        kpi(t('proactive_share'), pct(tot.proactive_share), 'kpi-proactive')),
      el('h2', {}, t('trend30')),
      el('div', { class: 'chart', id: 'chart-trend' }),
      el('h2', {}, t('top_categories')),
      el('div', { class: 'chart', id: 'chart-categories' }),
      el('h2', {}, `${t('ranking')} (${r.units.level || '—'})`),
      el('table', { class: 'children ranking', id: 'ranking' },
        el('tr', {}, el('th', {}, '#'), el('th', {}, t('unit')), el('th', {}, t('cases')), el('th', {}, t('response_rate')),
          el('th', {}, t('resolution_rate')), el('th', {}, t('satisfaction_rate'))),
        ...r.units.rows.slice(0, 10).map((u) => el('tr', {}, el('td', {}, String(u.rank)), el('td', {}, u.name), el('td', {}, String(u.cases)),
          el('td', {}, pct(u.response_rate)), el('td', {}, pct(u.resolution_rate)), el('td', {}, pct(u.satisfaction_rate))))),
      el('h2', {}, t('ticker')),
      el('div', { id: 'ticker' }));
    renderTicker();
    // The categories named in the page's language.
    const named = r.categories.map((c) => ({ ...c, name_zh: categoryName(ctx.catalog, c.category) }));
    chartModule().then(({ categoriesChart, trendChart }) => {
      const trend = document.getElementById('chart-trend'), top = document.getElementById('chart-categories');
      if (!trend || !top || !trend.isConnected) return; // drawn again meanwhile
      trendChart(trend, r.daily, { from: week, dark: true });
      categoriesChart(top, named.slice(0, 6), { dark: true });
      state.charts = box.querySelectorAll('.chart svg').length;
    }).catch((e) => console.warn(`big screen charts: ${e.message}`));
  }

  function renderTicker() {
    const box = document.getElementById('ticker');
    if (!box) return;
    box.replaceChildren(...(state.ticker.length ? state.ticker.map((c) => el('div', { class: 'tick' },
      el('span', { class: 'muted' }, c.at.toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false })),
      ` ${categoryName(ctx.catalog, c.category)} · ${t(c.source) || c.source}`)) : [el('div', { class: 'muted' }, t('no_cases'))]));
  }

  const reload = () => load().catch((e) => console.warn(`big screen: ${e.message}`));
  // Back on the wall (a layout switched, a tab shown) with figures older than a refresh: now.
  function refreshIfStale() {
    if (shown() && Date.now() - state.loadedAt > REFRESH_MS) reload();
  }

  function follow() {
    if (!allowed) return;
    setInterval(reload, REFRESH_MS);
    document.addEventListener('visibilitychange', refreshIfStale);
  }

  return { load, render, follow, opened, refreshIfStale, state: () => state };
}
