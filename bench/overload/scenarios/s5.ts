/** Overload scenario S5: retry storm and metastability (the model and the shared helpers are in common.ts). */
import { exponential, simulate, type SimResult, type SimulateOptions } from '../../../src/sim/index.js';
import { nestedRetryPipelines, retryPipelines, type PolicyEntry } from '../policies.js';
import { type ChartData, type Scenario, type Col, median, fmt, perSeed, policyTable, base, pct, peak, recoveryMs, featured } from './common.js';

const fullJitterClient = (baseMs: number, capMs: number) => (attempt: number, random: () => number) => random() * Math.min(capMs, baseMs * 2 ** (attempt - 2));

export const S5: Scenario = {
  id: 'S5',
  title: 'Retry storm and metastability',
  async run(ctx) {
    const [from, to, durationMs] = ctx.quick ? [20_000, 30_000, 80_000] : [30_000, 40_000, 150_000];
    const variants = [
      { id: 'no-retry', label: 'no retries', retry: undefined },
      { id: 'retry', label: '3 retries, no backoff', retry: { maxAttempts: 4, retryRejected: true } },
      { id: 'jitter', label: '3 retries, full jitter 50 ms..1 s', retry: { maxAttempts: 4, retryRejected: true, backoffMs: fullJitterClient(50, 1000) } },
    ];
    const cols: Col[] = [
      { key: 'during', label: 'goodput during trigger (% of 500)', better: 'high' },
      { key: 'after', label: `goodput +5..+20 s (% of λ)`, better: 'high' },
      { key: 'late', label: 'goodput at the end (% of λ)', better: 'high' },
      { key: 'amp', label: 'amplification A', better: 'low', digits: 2 },
      { key: 'ampTrigger', label: 'A during trigger', better: 'low', digits: 2 },
      { key: 'recover', label: 'recovery after trigger (s)', better: 'low', digits: 1 },
      { key: 'backlog', label: 'peak downstream backlog', better: 'low', digits: 0 },
    ];
    type Trigger = 'halve' | 'down';
    const run = async (
      label: string,
      build: PolicyEntry['build'],
      load: SimulateOptions['load'],
      opts: { cancel?: boolean; trigger?: Trigger } = {},
    ): Promise<{ values: Record<string, number[]>; kept: SimResult | undefined }> => {
      let kept: SimResult | undefined;
      const trigger = opts.trigger ?? 'halve';
      const values = await perSeed(ctx, `S5 ${label}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          downstream: {
            workers: 40,
            service: exponential(40),
            ...(trigger === 'halve' ? { changes: [{ atMs: from, workers: 20 }, { atMs: to, workers: 40 }] } : { down: [{ fromMs: from, toMs: to }] }),
            ...(opts.cancel === true ? { cancelExpired: true } : {}),
          },
          load,
          policy: build,
        });
        kept ??= r;
        return {
          during: pct(r.window(from, to).goodputPerSecond / 500),
          after: pct(r.window(to + 5000, to + 20_000).goodputPerSecond / 900),
          late: pct(r.window(durationMs - 30_000, durationMs).goodputPerSecond / 900),
          amp: r.summary.amplification,
          ampTrigger: r.window(from, to).amplification,
          recover: recoveryMs(r.series, to, 900) / 1000,
          backlog: peak(r.series, 0, durationMs, (b) => b.downstreamQueued),
        };
      });
      return { values, kept };
    };
    const clientLoad = (v: (typeof variants)[number]): SimulateOptions['load'] => (v.retry === undefined ? { perSecond: 900 } : { perSecond: 900, retry: v.retry });
    // One call may take up to 4 attempts of 1 s each (the timeout policy); the caller's deadline covers them all.
    const pipelineLoad: SimulateOptions['load'] = { perSecond: 900, deadlineMs: 4000 };

    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's5-retry-storm', title: 'S5 retry storm: λ = 900 rps, 3 retries without backoff, c = 20 during the trigger', lines: [], marks: [from, to] };
    const feat = featured(ctx).map((p) => p.id);
    for (const p of ctx.policies.filter((x) => x.id !== 'breaker')) {
      for (const v of variants) {
        const { values, kept } = await run(`${p.id} ${v.id}`, p.build, clientLoad(v));
        rows.push({ label: `${p.label}, ${v.label}`, values });
        if (v.id === 'retry' && feat.includes(p.id) && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
      }
    }
    const pipelines = await retryPipelines();
    for (const p of pipelines) {
      const { values, kept } = await run(p.id, p.build, pipelineLoad);
      rows.push({ label: p.label, values });
      if (p.featured === true && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
    }

    // The `cancel` downstream: expired queued work is dropped at dequeue instead of served.
    const cancelRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of ctx.policies.filter((x) => x.id === 'none' || x.id === 'static-40')) {
      for (const v of variants.filter((x) => p.id === 'none' || x.id === 'retry')) {
        const { values } = await run(`cancel ${p.id} ${v.id}`, p.build, clientLoad(v), { cancel: true });
        cancelRows.push({ label: `${p.label}, ${v.label}`, values });
      }
    }
    for (const p of pipelines) {
      const { values } = await run(`cancel ${p.id}`, p.build, pipelineLoad, { cancel: true });
      cancelRows.push({ label: p.label, values });
    }

    // Three layers of retries, under the S5 trigger (c = 20 for 10 s) and under a 100 %-failure trigger (hard-down for its 10 s).
    const nestedRows: { label: string; values: Record<string, number[]> }[] = [];
    const nested = await nestedRetryPipelines();
    const single = pipelines.find((p) => p.id === 'retry');
    const naiveClient = variants.find((v) => v.id === 'retry')!;
    for (const trigger of ['halve', 'down'] as const) {
      const tl = trigger === 'halve' ? 'c = 20 trigger' : 'hard-down trigger';
      const { values } = await run(`${trigger} client-loop`, () => undefined, clientLoad(naiveClient), { trigger });
      nestedRows.push({ label: `${tl}: 1 layer, naive client loop (3 retries, no backoff)`, values });
      if (single !== undefined) {
        const r = await run(`${trigger} ${single.id}`, single.build, pipelineLoad, { trigger });
        nestedRows.push({ label: `${tl}: 1 layer, ${single.label}`, values: r.values });
      }
      for (const p of nested) {
        const r = await run(`${trigger} ${p.id}`, p.build, pipelineLoad, { trigger });
        nestedRows.push({ label: `${tl}: ${p.label}`, values: r.values });
      }
    }

    const med = (rs: typeof rows, prefix: string, k: string, d = 2): string => {
      const r = rs.find((x) => x.label.startsWith(prefix));
      return r === undefined ? '—' : fmt(median(r.values[k] ?? []), d);
    };
    const ideal = ['**ideal**', '100', '100', '100', '1.0', '1.0', '0', '0'];
    const target = ['target (T7)', '≥ 90', '—', '—', '≤ 1.1', '≤ 1.05 (100 % failure)', '≤ 2', '—'];
    return {
      id: 'S5',
      title: this.title,
      setup: `λ = 900 rps (0.9 C); trigger: c = 20 for t ∈ [${from / 1000}, ${to / 1000}) s; run to ${durationMs / 1000} s. Recovery: goodput ≥ 95 % of λ held for 5 s. Peak backlog: most calls waiting in the downstream's queue in any 250 ms sample.`,
      explain:
        'Without admission control the 10 s trigger leaves a backlog in the downstream that outlives it: callers give up at 1 s but the downstream still serves their calls (wasted work), so new calls queue behind dead ones and time out too. ' +
        `With retries the dead backlog never drains (goodput 0 % to the end: metastable); without retries it drains in about ${med(rows, 'none (unprotected), no retries', 'recover', 0)} s. ` +
        `A concurrency limit (bulkhead) keeps the backlog bounded (at most ${med(rows, 'bulkhead L=40, no retries', 'backlog', 0)} calls wait behind L = 40), so goodput stays near the ideal through the trigger and after it. ` +
        'With L = 100 or 200 the recovery is immediate; L = 40 without jittered retries stays a few % under the 95 % bar after the trigger because of its Erlang loss at 0.9 C (about 7 % of calls find all 40 permits taken), so its "recovery" time measures that loss, not a backlog. ' +
        'Rate limits sized for full capacity do not help when capacity halves. ' +
        "sluice's retry policy with its token budget stops retrying once the budget is spent, which turns a metastable storm into the no-retry recovery, and with a bulkhead it needs no recovery at all. " +
        `The \`cancel\` downstream drops expired queued work: without retries even unprotected callers then recover as soon as the trigger ends (${med(cancelRows, 'none (unprotected), no retries', 'recover', 1)} s), but naive retries keep the offered load near 3 × C and the storm goes on (goodput at the end ${med(cancelRows, 'none (unprotected), 3 retries, no backoff', 'late', 1)} % of λ); budgeted sluice retries recover with it. Three nested layers of sluice retries behave as one layer (inner layers make a single attempt: A ${med(nestedRows, 'hard-down trigger: 3 layers × retry', 'ampTrigger')} during a hard-down trigger), where three naive loops send up to 4³ = 64 attempts per call (A ${med(nestedRows, 'hard-down trigger: 3 layers × naive', 'ampTrigger')}).`,
      tables: [
        policyTable(cols, rows, [ideal, target]),
        { caption: '`cancel` downstream variant: expired work is dropped when it reaches the head of the queue', ...policyTable(cols, cancelRows, [ideal, target]) },
        {
          caption:
            'Nested retries: three layers with 3 retries each (4 attempts), innermost 1 s per-attempt timeout, 4 s caller deadline; under the S5 trigger (c = 20 for 10 s) and under a 100 %-failure trigger (the dependency is hard-down for the same 10 s and fails in 1 ms)',
          ...policyTable(cols, nestedRows, [ideal, target]),
        },
      ],
      charts: [chart],
      notes: [
        'Rows "…, N retries" use a naive client loop in the simulator (each attempt a fresh call with its own 1 s deadline; timeouts, errors and local rejections are all retried). Rows starting with "retry(" put sluice\'s retry policy (default token budget) and a 1 s per-attempt timeout in the pipeline, with a 4 s overall deadline per call.',
        'Nested rows are one pipeline of three retry policies (nesting is seen through the pipeline, as it is through `execute(fn, ctx)` across layers). "Per-layer defaults" means `retry({ maxAttempts: 4 })`: full jitter 100 ms..10 s, a token budget per layer, `nested: \'single-attempt\'`. The naive layers are `retry` with no backoff, no budget and `nested: \'multiply\'`. With timeouts as the failure (c = 20 trigger) the 4 s caller deadline caps even the naive stack at about 4 attempts per call; fast failures (hard-down) show the multiplication.',
        'During a hard-down trigger goodput is 0 by construction, so "goodput during trigger" reads 0 there.',
      ],
    };
  },
};
