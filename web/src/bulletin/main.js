// The charts of a report file (gridwatch report, docs/reports.md): reads the figures the page
// embeds and draws each chart where the page asks for it. Built as one script (vite.bulletin.js)
// that the report command writes into the page, so the file needs nothing else.
import { categoriesChart, ratesChart, sourcesChart, trendChart, unitsChart } from '../common/charts.js';

const report = JSON.parse(document.getElementById('gw-report').textContent);
const draw = {
  trend: (el) => trendChart(el, report.daily, { from: report.from_day }),
  rates: (el) => ratesChart(el, report.daily),
  categories: (el) => categoriesChart(el, report.categories),
  units: (el) => unitsChart(el, report.units.rows),
  proactive: (el) => sourcesChart(el, report.handling.by_kind),
};
for (const el of document.querySelectorAll('[data-chart]')) {
  const chart = draw[el.dataset.chart];
  if (chart) chart(el);
}
document.documentElement.dataset.charts = 'drawn';
