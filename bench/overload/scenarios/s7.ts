/** Overload scenario S7: two tenants, noisy neighbour (the model and the shared helpers are in common.ts). */
import { jainIndex, maxMinFair, ramp, simulate } from '../../../src/sim/index.js';
import { heavierTenant } from '../heavier.js';
import { C, type RunContext, type Scenario, type Col, median, fmt, perSeed, policyTable, medianOf, base, pct, againstFifo } from './common.js';

export const S7: Scenario = {
  id: 'S7',
  title: 'Two tenants, noisy neighbour',
  async run(outer) {
    // The FIFO rows are the baseline; the fair queue (per-tenant deficit round robin) is the policy under test.
    const ctx: RunContext = { ...outer, policies: [...outer.policies, ...againstFifo('fair')] };
    const [rampAt, rampMs, holdMs, tailMs] = ctx.quick ? [5_000, 10_000, 25_000, 5_000] : [10_000, 20_000, 60_000, 10_000];
    const holdFrom = rampAt + rampMs;
    const holdTo = holdFrom + holdMs;
    const durationMs = holdTo + tailMs;
    const cols: Col[] = [
      { key: 'a', label: 'A goodput (% of demand)', better: 'high' },
      { key: 'b', label: 'B goodput (rps)', better: 'high', digits: 0 },
      { key: 'jain', label: "Jain's index", better: 'high', digits: 3 },
      { key: 'aP99', label: 'A p99 (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total goodput (% C)', better: 'high' },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of ctx.policies) {
      const values = await perSeed(ctx, `S7 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          load: [
            { tenant: 'A', perSecond: 400 },
            { tenant: 'B', schedule: [...ramp(200, 3000, rampAt, rampMs), { atMs: holdTo, perSecond: 200 }], perSecond: 200 },
          ],
          policy: p.build,
        });
        const from = holdFrom + 5000;
        const a = r.group('tenant', 'A', from, holdTo)!;
        const b = r.group('tenant', 'B', from, holdTo)!;
        return { a: pct(a.shareOfDemand), b: b.goodputPerSecond, jain: r.jainOver(from, holdTo), aP99: a.latency.p99, total: pct(r.window(from, holdTo).goodputPerSecond / C) };
      });
      rows.push({ label: p.label, values });
    }
    const variantPolicies = ctx.policies.filter((p) => !p.id.startsWith('breaker'));

    // Cost-aware variant: A's requests do twice the work (two service times in sequence under one permit, cost 2),
    // at 200 rps so that A's work is still 0.4 C.
    const costRows: { label: string; values: Record<string, number[]> }[] = [];
    const fairUnits = maxMinFair([400, 3000], C);
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S7 cost ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          load: [
            { tenant: 'A', perSecond: 200, cost: 2 },
            { tenant: 'B', schedule: [...ramp(200, 3000, rampAt, rampMs), { atMs: holdTo, perSecond: 200 }], perSecond: 200 },
          ],
          policy: (env) => heavierTenant(env, p.build(env), 'A', 2),
        });
        const from = holdFrom + 5000;
        const a = r.group('tenant', 'A', from, holdTo)!;
        const b = r.group('tenant', 'B', from, holdTo)!;
        const units = [2 * a.goodputPerSecond, b.goodputPerSecond];
        return {
          a: pct(a.shareOfDemand),
          b: b.goodputPerSecond,
          jain: jainIndex(units.map((u, k) => u / fairUnits[k]!)),
          aP99: a.latency.p99,
          total: pct((units[0]! + units[1]!) / C),
        };
      });
      costRows.push({ label: p.label, values });
    }

    // 10 tenants with Zipf(1.0) demand totalling 2 C, steady.
    const zipfMs = ctx.quick ? 30_000 : 60_000;
    const zipfWarm = ctx.quick ? 5_000 : 10_000;
    const h = Array.from({ length: 10 }, (_, k) => 1 / (k + 1));
    const hSum = h.reduce((x, y) => x + y, 0);
    const demand = h.map((w) => (2 * C * w) / hSum);
    const fair = maxMinFair(demand, C);
    const zCols: Col[] = [
      { key: 'jain', label: "Jain's index", better: 'high', digits: 3 },
      { key: 'small', label: 'smallest tenant (% of demand)', better: 'high' },
      { key: 'large', label: 'largest tenant (% of demand)', better: 'high' },
      { key: 'minFair', label: 'worst tenant (% of fair share)', better: 'high' },
      { key: 'p99', label: 'p99 (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total goodput (% C)', better: 'high' },
    ];
    const zipfRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S7 zipf ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, zipfWarm + zipfMs),
          warmupMs: zipfWarm,
          load: demand.map((d, k) => ({ tenant: `t${k + 1}`, perSecond: d })),
          policy: p.build,
        });
        const g = demand.map((_, k) => r.tenants[`t${k + 1}`]!);
        return {
          jain: r.jain,
          small: pct(g[9]!.shareOfDemand),
          large: pct(g[0]!.shareOfDemand),
          minFair: pct(Math.min(...g.map((x, k) => x.goodputPerSecond / fair[k]!))),
          p99: r.summary.latency.p99,
          total: pct(r.summary.goodputPerSecond / C),
        };
      });
      zipfRows.push({ label: p.label, values });
    }
    const aShare = (rs: typeof rows, id: string): string => {
      const label = ctx.policies.find((p) => p.id === id)?.label;
      const r = rs.find((x) => x.label === label);
      return r === undefined ? '—' : fmt(median(r.values.a ?? []));
    };
    return {
      id: 'S7',
      title: this.title,
      setup: `Tenant A at 0.4 C steady; tenant B ramps 0.2 C → 3 C over ${rampMs / 1000} s from ${rampAt / 1000} s and holds ${holdMs / 1000} s. Same priority; exp(40 ms), D = 1 s. Measured over the hold (after 5 s).`,
      explain:
        `A shared FIFO limit admits calls in arrival order, so each tenant gets its share of arrivals, not its fair share: the victim A gets ${aShare(rows, 'static-40')} % of its demand behind a bulkhead L = 40 and ${aShare(rows, 'fifo-queue')} % behind the same bulkhead with a FIFO queue, and Jain's index stays near the FIFO baseline 0.69. ` +
        `sluice's fair queue (\`queue: 'fair'\`, deficit round robin over per-tenant lanes) gives A ${aShare(rows, 'fair-queue')} % of its demand at a p99 of ${medianOf(ctx, rows, 'fair-queue', 'aP99', 0)} ms with Jain's index ${medianOf(ctx, rows, 'fair-queue', 'jain', 3)} and ${medianOf(ctx, rows, 'fair-queue', 'total', 1)} % of C served (T9: ≥ 95 %, ≥ 0.95, ≤ 230 ms, ≥ 97 %). B, the tenant that floods, is the one whose calls wait and are shed: when the queue is full a newcomer of a lighter tenant displaces the newest call of the heaviest. ` +
        `With A's requests twice as heavy the fair share is in units of work: the fair queue charges each call its \`cost\` and gives A ${medianOf(ctx, costRows, 'fair-queue', 'a')} % of its demand (Jain in work ${medianOf(ctx, costRows, 'fair-queue', 'jain', 3)}); the token bucket, which charges A's calls 2 tokens, starves them instead (A gets ` +
        `${medianOf(ctx, costRows, 'token-bucket', 'a')} %: under contention B's calls take each token as it arrives, so a 2-token call rarely finds 2). ` +
        `Across 10 Zipf-distributed tenants FIFO makes the small tenants, which ask for less than their fair share, lose the same fraction of their demand as the large ones; the fair queue serves the smallest tenant ${medianOf(ctx, zipfRows, 'fair-queue', 'small')} % of its demand (Jain ${medianOf(ctx, zipfRows, 'fair-queue', 'jain', 3)}). ` +
        'Unprotected, every tenant collapses together (the total demand is above capacity).',
      tables: [
        policyTable(cols, rows, [
          ['**ideal** (max-min fair)', '100', '600', '1.000', '184', '100'],
          ['target (T9)', '≥ 95', '—', '≥ 0.95', '≤ 230', '≥ 97'],
        ]),
        {
          caption:
            "Cost-aware variant: A's requests are 2× heavier (two exp(40 ms) service times in sequence under one permit, `cost: 2`), A at 200 rps = 0.4 C of work; Jain's index and total in units of work (max-min fair in work: A 400, B 600 units/s)",
          ...policyTable(
            [
              { key: 'a', label: 'A goodput (% of demand)', better: 'high' },
              { key: 'b', label: 'B goodput (rps)', better: 'high', digits: 0 },
              { key: 'jain', label: "Jain's index (work)", better: 'high', digits: 3 },
              { key: 'aP99', label: 'A p99 (ms)', better: 'low', digits: 0 },
              { key: 'total', label: 'total goodput (% C, work)', better: 'high' },
            ],
            costRows,
            [
              ['**ideal** (max-min fair in work)', '100', '600', '1.000', '≈ 265 (Erlang-2)', '100'],
              ['target (T9)', '≥ 95', '—', '≥ 0.95', '≤ 332', '≥ 97'],
            ],
          ),
        },
        {
          caption: `10 tenants, Zipf(1.0) demand totalling 2 C (${demand.map((d) => d.toFixed(0)).join(', ')} rps), steady for ${zipfMs / 1000} s after ${zipfWarm / 1000} s warm-up; max-min fair shares ${fair.map((f) => f.toFixed(0)).join(', ')} rps`,
          ...policyTable(zCols, zipfRows, [
            ['**ideal** (max-min fair)', '1.000', '100', fmt((100 * fair[0]!) / demand[0]!), '100', '≈ 184', '100'],
            ['target (T9)', '≥ 0.95', '≥ 95', '—', '—', '≤ 230', '≥ 97'],
          ]),
        },
      ],
      charts: [],
      notes: [
        'FIFO arithmetic predicts the baseline rows: A gets 400/3400 of the 1000 rps served, 118 rps: 29.5 % of its demand, J ≈ 0.69. The fair-queue rows use the same limit (40) and the same queue bounds as the FIFO-queue row; only the order of admission and the choice of whom to shed differ.',
        'The variants leave out the circuit-breaker rows: under overload without failures the breaker alone behaves as "none" and "breaker → bulkhead L=40" as "bulkhead L=40" (see S1).',
        "Heavier requests are modelled in the bench, not the simulator (its downstream draws one service time per call whatever the cost): a wrapper runs A's protected call twice in sequence inside the same permit.",
        "Where the fair queue misses T9 in the cost-aware variant (A's share, total), the model is the reason: a bulkhead's `cost` is units of concurrency, and A's cost-2 call holds two of the 40 units while it keeps one worker busy (twice as long), so the more of A the fair queue admits, the fewer workers are busy and the lower the total. For a call that is longer rather than wider, cost 1 is right for a concurrency limit (it already holds its unit twice as long); fairness in work for such calls needs a discipline that charges service time, which the fair queue does not measure.",
        "In the Zipf variant the fair queue's p99 over all calls is the wait of the heavy tenants, whose calls queue up to `maxWaitMs` (500 ms) before they are served or expire; the tenants within their fair share are served at once.",
      ],
    };
  },
};
