/**
 * Time-series charts (goodput, p99, limit in force, downstream in-flight), rendered to SVG with vega-lite + vega
 * in Node (no browser).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { SimBucket } from '../../src/sim/index.js';

/** One line of a chart. */
export interface ChartLine {
  policy: string;
  series: SimBucket[];
}

/** One point of a panel chart: at time `t` (s), series `policy` has `value` in panel `panel`. */
export interface Row {
  t: number;
  policy: string;
  panel: string;
  value: number | null;
}

const PANELS = ['goodput (rps)', 'p99 of successes (ms)', 'limit in force', 'in flight at the downstream'] as const;

/**
 * Renders a 4-panel time series (one colour per policy) with vertical rules at `marks` (ms) and returns the SVG.
 */
export async function timeSeriesSvg(title: string, lines: ChartLine[], marks: number[]): Promise<string> {
  const rows: Row[] = [];
  for (const l of lines) {
    for (const b of l.series) {
      const t = b.tMs / 1000;
      const v = (x: number): number | null => (Number.isFinite(x) ? x : null);
      rows.push({ t, policy: l.policy, panel: PANELS[0], value: b.goodputPerSecond });
      rows.push({ t, policy: l.policy, panel: PANELS[1], value: v(b.p99Ms) });
      if (Number.isFinite(b.limit)) rows.push({ t, policy: l.policy, panel: PANELS[2], value: b.limit });
      rows.push({ t, policy: l.policy, panel: PANELS[3], value: b.downstreamInflight });
    }
  }
  const scales = (p: string): Record<string, unknown> => (p === PANELS[1] ? { domain: [0, 1000], clamp: true } : p === PANELS[3] ? { type: 'symlog' } : {});
  return panelsSvg(title, rows, PANELS.filter((p) => rows.some((r) => r.panel === p)), 'virtual time (s)', marks, scales);
}

/**
 * Renders stacked panels of step lines (one panel per name in `panels`, one colour per `policy`) with vertical rules
 * at `marks` (ms), and returns the SVG. `scaleOf` gives a panel's y scale (a domain, symlog).
 */
export async function panelsSvg(
  title: string,
  rows: Row[],
  panels: readonly string[],
  xTitle: string,
  marks: number[] = [],
  scaleOf: (panel: string) => Record<string, unknown> = () => ({}),
): Promise<string> {
  const panel = (name: string): Record<string, unknown> => ({
    width: 720,
    height: 130,
    layer: [
      {
        mark: { type: 'line', strokeWidth: 1.4, interpolate: 'step-after' },
        transform: [{ filter: { field: 'panel', equal: name } }],
        encoding: {
          x: { field: 't', type: 'quantitative', title: xTitle },
          y: { field: 'value', type: 'quantitative', title: name, scale: scaleOf(name) },
          color: { field: 'policy', type: 'nominal', title: null, legend: { orient: 'top', labelLimit: 400, columns: 2 } },
        },
      },
      {
        data: { values: marks.map((m) => ({ m: m / 1000 })) },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        encoding: { x: { field: 'm', type: 'quantitative' } },
      },
    ],
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, anchor: 'start', fontSize: 14 },
    data: { values: rows },
    vconcat: panels.map((p) => panel(p)),
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { labelFontSize: 10, titleFontSize: 11 }, background: 'white' },
  };
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
