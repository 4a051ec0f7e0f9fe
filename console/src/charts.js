// ECharts, only the parts the console draws, and helpers that turn the node's counter rows
// ({day, dims, value}) into series. Every chart is described for screen readers (aria), which
// is also how the browser test checks that it drew the series it should.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart, SankeyChart, GraphChart } from 'echarts/charts';
import {
  AriaComponent, GridComponent, LegendComponent, TooltipComponent, TitleComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart, LineChart, PieChart, SankeyChart, GraphChart, AriaComponent, GridComponent,
  LegendComponent, TooltipComponent, TitleComponent, CanvasRenderer,
]);

const live = new Set();
window.addEventListener('resize', () => live.forEach((chart) => chart.resize()));

/** Disposes the charts of the page being left. */
export function disposeAll() {
  live.forEach((chart) => chart.dispose());
  live.clear();
}

/**
 * Draws `option` in `el`; returns the chart, or null when `el` is not on the page (a render a
 * newer navigation superseded: a chart there would lay out at zero size and fail on its own).
 */
export function draw(el, option) {
  if (!el?.isConnected) return null;
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption({
    aria: { enabled: true },
    // No motion for those who asked their system for none (and for the browser test).
    animation: !matchMedia('(prefers-reduced-motion: reduce)').matches,
    tooltip: { trigger: option.series?.[0]?.type === 'pie' ? 'item' : 'axis' },
    ...option,
  });
  el.dataset.series = (option.series ?? []).map((s) => s.name).join('|');
  live.add(chart);
  return chart;
}

/** Every day from `range.from` to `range.to` (YYYY-MM-DD), as the x axis. */
export function days(range) {
  const out = [];
  const end = new Date(range.to + 'T00:00:00Z');
  for (let d = new Date(range.from + 'T00:00:00Z'); d <= end; d.setUTCDate(d.getUTCDate() + 1)) {
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

/**
 * Pivots daily rows into one series per key: `keyOf(dims)` names the series (null skips the
 * row), values summed per day.
 */
export function daily(rows, range, keyOf, type = 'bar', stack = 'total') {
  const axis = days(range);
  const index = new Map(axis.map((d, i) => [d, i]));
  const series = new Map();
  for (const row of rows) {
    const key = keyOf(row.dims);
    if (key == null || !index.has(row.day)) continue;
    if (!series.has(key)) series.set(key, new Array(axis.length).fill(0));
    series.get(key)[index.get(row.day)] += row.value;
  }
  return {
    axis,
    series: [...series.entries()].map(([name, data]) => ({
      name, type, data, stack: type === 'bar' ? stack : undefined,
    })),
  };
}

/** The sum of the rows' values (counter rows, or anything with a `value`). */
export function sum(rows) {
  return rows.reduce((total, row) => total + row.value, 0);
}

/** Sums rows per key (for pies and totals). */
export function totals(rows, keyOf) {
  const sums = new Map();
  for (const row of rows) {
    const key = keyOf(row.dims);
    if (key != null) sums.set(key, (sums.get(key) ?? 0) + row.value);
  }
  return [...sums.entries()].map(([name, value]) => ({ name, value }));
}

/** A bar or line chart over days. */
export function overDays(el, pivot, extra = {}) {
  return draw(el, {
    legend: { type: 'scroll', top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: pivot.axis.map((d) => d.slice(5)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: pivot.series,
    ...extra,
  });
}

/** A pie of named values. */
export function pie(el, name, data) {
  return draw(el, {
    legend: { type: 'scroll', bottom: 0 },
    series: [{ name, type: 'pie', radius: ['35%', '65%'], data }],
  });
}
