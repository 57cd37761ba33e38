// The charts of the wall screen and of the reports (one library, echarts, drawn as SVG): the
// figures come from the report API (docs/reports.md), the same JSON a report file embeds.
import echarts from 'echarts/lib/echarts';
import 'echarts/lib/chart/bar';
import 'echarts/lib/chart/line';
import 'echarts/lib/chart/pie';
import 'echarts/lib/component/grid';
import 'echarts/lib/component/legend';
import 'echarts/lib/component/tooltip';
import 'echarts/lib/component/markArea';
import 'zrender/lib/svg/svg';

const COLORS = ['#c0392b', '#2e86de', '#27ae60', '#f39c12', '#8e44ad', '#16a085', '#7f8c8d'];
const pct = (v) => (v == null ? null : Math.round(v * 1000) / 10);

// Draws `option` into `el` (an SVG chart; animation off for print, `dark` for the wall).
function draw(el, option, { animate = false, dark = false } = {}) {
  const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: 'svg' });
  const text = dark ? '#d7e0ea' : '#1d2733';
  // Axis words and lines readable on the wall's dark background as on paper.
  for (const axis of ['xAxis', 'yAxis']) {
    if (!option[axis]) continue;
    option[axis] = { ...option[axis], axisLabel: { color: text, ...option[axis].axisLabel },
      axisLine: { lineStyle: { color: dark ? '#5b7a99' : '#8795a1' } }, splitLine: { lineStyle: { color: dark ? '#24425f' : '#e0e6ed' } } };
  }
  chart.setOption({
    animation: animate, color: COLORS, textStyle: { color: text },
    legend: { top: 0, textStyle: { color: text } }, tooltip: { trigger: 'axis' },
    grid: { left: 48, right: 48, top: 32, bottom: 28 }, ...option,
  }, true);
  return chart;
}

// Removes the chart drawn in `el`, if any (before `el` leaves the page).
export function disposeChart(el) {
  const chart = echarts.getInstanceByDom(el);
  if (chart) chart.dispose();
}

// Cases and proactive cases per day (one entry a day), the days from `from` on shaded.
export function trendChart(el, daily, { from, ...opts } = {}) {
  const days = daily.map((d) => d.day.slice(5));
  const first = from ? daily.findIndex((d) => d.day >= from) : -1;
  return draw(el, {
    xAxis: { type: 'category', data: days },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      { name: '受理 Cases', type: 'bar', data: daily.map((d) => d.cases),
        markArea: first >= 0 ? { silent: true, itemStyle: { color: 'rgba(192,57,43,0.08)' }, data: [[{ xAxis: days[first] }, { xAxis: days[days.length - 1] }]] } : undefined },
      { name: '主动发现 Proactive', type: 'line', data: daily.map((d) => d.proactive), symbol: 'none' },
    ],
  }, opts);
}

// The three rates per day, in percent.
export function ratesChart(el, daily, opts) {
  const line = (name, key) => ({ name, type: 'line', connectNulls: true, symbol: 'none', data: daily.map((d) => pct(d[key])) });
  return draw(el, {
    xAxis: { type: 'category', data: daily.map((d) => d.day.slice(5)) },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    series: [line('响应率 Response', 'response_rate'), line('解决率 Resolution', 'resolution_rate'), line('满意率 Satisfaction', 'satisfaction_rate')],
  }, opts);
}

// The busiest categories against the span before (horizontal bars, busiest on top).
export function categoriesChart(el, categories, { zh = true, ...opts } = {}) {
  const rows = categories.slice(0, 10).reverse();
  return draw(el, {
    grid: { left: 150, right: 24, top: 32, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: rows.map((c) => (zh ? c.name_zh : c.name_en)) },
    series: [
      { name: '本期 This span', type: 'bar', data: rows.map((c) => c.cases) },
      { name: '上期 Before', type: 'bar', data: rows.map((c) => c.previous) },
    ],
  }, opts);
}

// The units' scores (the three rates weighed), best first.
export function unitsChart(el, rows, opts) {
  const top = rows.filter((r) => r.score != null).slice(0, 15);
  return draw(el, {
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: top.map((r) => r.name), axisLabel: { interval: 0, rotate: top.length > 8 ? 30 : 0 } },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}' } },
    series: [{ name: '得分 Score', type: 'bar', data: top.map((r) => pct(r.score)) }],
  }, opts);
}

// Where the cases came from: the hotline against cameras, sensors and patrols.
export function sourcesChart(el, byKind, opts) {
  return draw(el, {
    tooltip: { trigger: 'item' },
    series: [{ name: '来源 Source', type: 'pie', radius: ['35%', '65%'], label: { formatter: '{b}: {c} ({d}%)' },
      data: Object.entries(byKind).map(([name, value]) => ({ name, value })) }],
  }, opts);
}
