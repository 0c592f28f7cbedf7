/** Overload scenario S8: priority classes (the model and the shared helpers are in common.ts). */
import { exponential, simulate, type GroupSummary, type SimResult } from '../../../src/sim/index.js';
import { adaptivePolicies, countInversions, type PolicyEntry } from '../policies.js';
import { C, type RunContext, type Scenario, type Col, median, fmt, perSeed, policyTable, medianOf, base, pct, againstFifo } from './common.js';

export const S8: Scenario = {
  id: 'S8',
  title: 'Priority classes',
  async run(outer) {
    // The FIFO rows are the baseline; the priority queue is the policy under test. Every row counts inversions.
    const prioritized = await adaptivePolicies({ queue: 'priority', maxQueue: 200, maxWaitMs: 500 }, '-priority', ", queue: 'priority' ≤ 200, wait ≤ 500 ms");
    const ctx: RunContext = { ...outer, policies: [...outer.policies, ...againstFifo('priority'), ...prioritized].map(countInversions) };
    const durationMs = ctx.quick ? 30_000 : 60_000;
    const warmupMs = ctx.quick ? 5_000 : 10_000;
    const cols: Col[] = [
      { key: 'crit', label: 'critical goodput (% of demand)', better: 'high' },
      { key: 'shed', label: 'sheddable goodput (rps)', better: 'high', digits: 0 },
      { key: 'critP99', label: 'critical p99 (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total goodput (% C)', better: 'high' },
      { key: 'inv', label: 'priority inversions (per 1000 calls)', better: 'low', digits: 1 },
    ];
    const inversions = (p: PolicyEntry, arrivals: number): number => {
      const log = (p as ReturnType<typeof countInversions>).log();
      return (1000 * (log.refusedOverLower + log.startedOverHigher)) / arrivals;
    };
    /**
     * Critical (priority 1) and sheddable (priority 0) at the given rates, one row per policy; critical goodput as a
     * share of its demand, or of capacity when `ofCapacity` (S8b, where critical alone exceeds it).
     */
    const twoClasses = async (part: string, policies: PolicyEntry[], critical: number, sheddable: number, ofCapacity: boolean) => {
      const out: { label: string; values: Record<string, number[]> }[] = [];
      for (const p of policies) {
        const values = await perSeed(ctx, `${part} ${p.id}`, async (seed) => {
          const r = await simulate({
            ...base(seed, durationMs),
            warmupMs,
            load: [
              { name: 'critical', priority: 1, perSecond: critical },
              { name: 'sheddable', priority: 0, perSecond: sheddable },
            ],
            policy: p.build,
          });
          const crit = r.classes['1']!;
          return {
            crit: pct(ofCapacity ? crit.goodputPerSecond / C : crit.shareOfDemand),
            shed: r.classes['0']!.goodputPerSecond,
            critP99: crit.latency.p99,
            total: pct(r.summary.goodputPerSecond / C),
            inv: inversions(p, r.summary.arrivals),
          };
        });
        out.push({ label: p.label, values });
      }
      return out;
    };
    const rows = await twoClasses('S8a', ctx.policies, 300, 2700, false);
    const variantPolicies = ctx.policies.filter((p) => !p.id.startsWith('breaker'));
    // S8b: critical alone exceeds capacity.
    const bRows = await twoClasses('S8b', variantPolicies, 1200, 1000, true);

    // S8c: three classes, capacity halves (c 40 → 20) at dropAt.
    const [dropAt, cEnd] = ctx.quick ? [20_000, 45_000] : [60_000, 120_000];
    const cCols: Col[] = [
      { key: 'critBefore', label: 'critical before drop (% of demand)', better: 'high' },
      { key: 'crit', label: 'critical after (rps)', better: 'high', digits: 0 },
      { key: 'def', label: 'default after (rps)', better: 'high', digits: 0 },
      { key: 'batch', label: 'batch after (rps)', better: 'low', digits: 0 },
      { key: 'critP99', label: 'critical p99 after (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total after (% of new C)', better: 'high' },
      { key: 'inv', label: 'inversions (per 1000 calls)', better: 'low', digits: 1 },
      { key: 'conv', label: 'classes settle (s after drop)', better: 'low', digits: 1 },
    ];
    const cRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S8c ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, cEnd),
          downstream: { workers: 40, service: exponential(40), changes: [{ atMs: dropAt, workers: 20 }] },
          load: [
            { name: 'critical', priority: 2, perSecond: 200 },
            { name: 'default', priority: 1, perSecond: 600 },
            { name: 'batch', priority: 0, perSecond: 2000 },
          ],
          policy: p.build,
        });
        const from = dropAt + 5000;
        const g = (k: string): GroupSummary => r.group('class', k, from, cEnd)!;
        return {
          critBefore: pct(r.group('class', '2', warmupMs, dropAt)!.shareOfDemand),
          crit: g('2').goodputPerSecond,
          def: g('1').goodputPerSecond,
          batch: g('0').goodputPerSecond,
          critP99: g('2').latency.p99,
          total: pct(r.window(from, cEnd).goodputPerSecond / 500),
          inv: inversions(p, r.summary.arrivals),
          conv: classesSettleMs(r, dropAt, cEnd) / 1000,
        };
      });
      cRows.push({ label: p.label, values });
    }
    // S8d: a 12× spike of low-priority traffic (Netflix's PlayAPI prefetch incident: critical availability > 99.4 %).
    const [spikeAt, spikeEnd, dEnd] = ctx.quick ? [10_000, 30_000, 40_000] : [20_000, 50_000, 70_000];
    const dCols: Col[] = [
      { key: 'crit', label: 'critical during the spike (% of demand)', better: 'high', digits: 2 },
      { key: 'critP99', label: 'critical p99 during the spike (ms)', better: 'low', digits: 0 },
      { key: 'low', label: 'low priority during the spike (rps)', better: 'high', digits: 0 },
      { key: 'total', label: 'total during the spike (% C)', better: 'high' },
      { key: 'critAfter', label: 'critical after (% of demand)', better: 'high', digits: 2 },
    ];
    const dRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S8d ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, dEnd),
          load: [
            { name: 'critical', priority: 1, perSecond: 300 },
            { name: 'low', priority: 0, schedule: [{ atMs: 0, perSecond: 300 }, { atMs: spikeAt, perSecond: 3600 }, { atMs: spikeEnd, perSecond: 300 }] },
          ],
          policy: p.build,
        });
        const crit = r.group('class', '1', spikeAt, spikeEnd)!;
        return {
          crit: pct(crit.shareOfDemand),
          critP99: crit.latency.p99,
          low: r.group('class', '0', spikeAt, spikeEnd)!.goodputPerSecond,
          total: pct(r.window(spikeAt, spikeEnd).goodputPerSecond / C),
          critAfter: pct(r.group('class', '1', spikeEnd + 2000, dEnd)!.shareOfDemand),
        };
      });
      dRows.push({ label: p.label, values });
    }
    const critShare = (id: string): string => {
      const label = ctx.policies.find((p) => p.id === id)?.label;
      const r = rows.find((x) => x.label === label);
      return r === undefined ? '—' : fmt(median(r.values.crit ?? []));
    };
    return {
      id: 'S8',
      title: this.title,
      setup: `S8a: critical (priority 1) at 0.3 C and sheddable (priority 0) at 2.7 C; exp(40 ms), D = 1 s; ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up.`,
      explain:
        `A FIFO limit admits whichever call comes first, so the critical class gets its share of arrivals: ${critShare('static-40')} % of its demand behind a bulkhead L = 40 in S8a and ${critShare('fifo-queue')} % with a FIFO queue (capacity / demand = 1000 / 3000 = 33 %). ` +
        `sluice's priority queue (\`queue: 'priority'\`) admits the highest class first and, when full, lets a newcomer displace the newest call of the lowest class below it: critical gets ${critShare('priority-queue')} % of its demand at a p99 of ${medianOf(ctx, rows, 'priority-queue', 'critP99', 0)} ms (T10: ≥ 99 %, ≤ 203 ms) and the sheddable class takes the rest of capacity. ` +
        `In S8b the critical class alone exceeds capacity: the priority queue gives it ${medianOf(ctx, bRows, 'priority-queue', 'crit')} % of C (T10: ≥ 97 %) and sheddable ${medianOf(ctx, bRows, 'priority-queue', 'shed', 0)} rps, where FIFO splits capacity in proportion to arrivals. ` +
        `In S8c the capacity halves while the limit stays at 40: the priority queue still orders admission, so critical keeps ${medianOf(ctx, cRows, 'priority-queue', 'crit', 0)} of its 200 rps and batch falls to ${medianOf(ctx, cRows, 'priority-queue', 'batch', 0)} rps, but with 40 calls admitted onto 20 workers the downstream's own FIFO queue holds the excess, and every admitted call waits there whatever its class (critical p99 ${medianOf(ctx, cRows, 'priority-queue', 'critP99', 0)} ms, T10 ≤ 203 ms: missed), and the class allocation settles ${medianOf(ctx, cRows, 'priority-queue', 'conv', 1)} s after the drop (T10 ≤ 2 s). A static limit cannot follow a capacity it does not measure: sluice's adaptive limiter behind the same priority queue comes down with the capacity, so critical keeps ${medianOf(ctx, cRows, 'adaptive-sluice-priority', 'crit', 0)} rps at a p99 of ${medianOf(ctx, cRows, 'adaptive-sluice-priority', 'critP99', 0)} ms and the classes settle ${medianOf(ctx, cRows, 'adaptive-sluice-priority', 'conv', 1)} s after the drop. ` +
        `S8d is the production anchor (Netflix kept its critical class above 99.4 % through a 12× prefetch spike): behind a priority queue, sluice's adaptive limiter gives the critical class ${medianOf(ctx, dRows, 'adaptive-sluice-priority', 'crit', 2)} % of its demand during the spike, where without priorities any limit gives it only its share of arrivals (${medianOf(ctx, dRows, 'adaptive-sluice', 'crit', 1)} %). ` +
        'Inversions count calls that ended unserved while a lower class waited, or started while a higher class waited; the priority queue has none left but those it cannot avoid (a critical caller that gives up at its deadline while lower calls still wait is one).',
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '100', '700', '189', '100', '0'],
          ['target (T10)', '≥ 99', '—', '≤ 203', '—', '—'],
        ]),
        {
          caption: `S8b: critical at 1.2 C and sheddable at 1.0 C (${durationMs / 1000} s after ${warmupMs / 1000} s warm-up)`,
          ...policyTable(
            [
              { key: 'crit', label: 'critical goodput (% C)', better: 'high' },
              { key: 'shed', label: 'sheddable goodput (rps)', better: 'low', digits: 0 },
              { key: 'critP99', label: 'critical p99 (ms)', better: 'low', digits: 0 },
              { key: 'total', label: 'total goodput (% C)', better: 'high' },
              { key: 'inv', label: 'inversions (per 1000 calls)', better: 'low', digits: 1 },
            ],
            bRows,
            [
              ['**ideal**', '100 (83 % of demand)', '0', '189', '100', '0'],
              ['target (T10)', '≥ 97', '—', '≤ 203', '—', '—'],
            ],
          ),
        },
        {
          caption: `S8c: critical 0.2 C (priority 2), default 0.6 C (priority 1), batch 2 C (priority 0); capacity drops to 0.5 C (c = 20) at ${dropAt / 1000} s; "after" is ${(dropAt + 5000) / 1000}–${cEnd / 1000} s`,
          ...policyTable(cCols, cRows, [
            ['**ideal**', '100', '200', '300', '0', '≈ 189', '100', '0', '0'],
            ['target (T10)', '≥ 99', '—', '—', '—', '≤ 203', '—', '—', '≤ 2'],
          ]),
        },
        {
          caption: `S8d: critical (priority 1) at 0.3 C throughout; low priority (priority 0) at 0.3 C, then 3.6 C (12 ×) from ${spikeAt / 1000} s to ${spikeEnd / 1000} s; "after" starts 2 s after the spike`,
          ...policyTable(dCols, dRows, [
            ['**ideal**', '100', '≈ 189', '700', '100', '100'],
            ['target (priorities in the limiter)', '≥ 99.4', '—', '—', '—', '—'],
          ]),
        },
      ],
      charts: [],
      notes: [
        'The priority-queue rows use the same limit (40) and queue bounds as the FIFO-queue row; only the order of admission and the choice of whom to shed differ. Priority inversions are counted by a wrapper around each policy that tracks which classes have callers waiting (entered `execute`, protected function not started yet).',
        'S8b and S8c leave out the circuit-breaker rows (under overload without failures they behave as "none" and "bulkhead L=40"; see S1).',
      ],
    };
  },
};

/**
 * S8c: ms after the capacity drop from which every 1 s window until `endMs` gives critical ≥ 80 % of its 200 rps and
 * default ≥ 80 % of the 300 rps left for it (the ideal allocation of the halved capacity; 80 %, not 90 %, because a
 * 1 s window of a 300 rps Poisson stream alone varies by about 6 %); Infinity if never.
 */
function classesSettleMs(r: SimResult, dropAt: number, endMs: number): number {
  let settledFrom = Infinity;
  for (let t = endMs - 1000; t >= dropAt; t -= 1000) {
    const crit = r.group('class', '2', t, t + 1000)?.goodputPerSecond ?? 0;
    const def = r.group('class', '1', t, t + 1000)?.goodputPerSecond ?? 0;
    if (crit < 0.8 * 200 || def < 0.8 * 300) break;
    settledFrom = t;
  }
  return settledFrom - dropAt;
}
