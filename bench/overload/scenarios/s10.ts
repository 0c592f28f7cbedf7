/** Overload scenario S10: hard-down dependency and recovery (the model and the shared helpers are in common.ts). */
import { exponential, simulate, type SimResult } from '../../../src/sim/index.js';
import { breakerConfigs, instrumentedBreaker, throttlePolicies, type BreakerLog, type PolicyEntry } from '../policies.js';
import { type ChartData, type Scenario, type Col, median, fmt, perSeed, policyTable, base, pct, recoveryMs } from './common.js';

export const S10: Scenario = {
  id: 'S10',
  title: 'Hard-down dependency and recovery',
  async run(ctx) {
    // Long enough after the heal for a 60 s open interval (Resilience4j, failsafe-go defaults) to end within the run.
    const [downAt, healAt, durationMs] = ctx.quick ? [10_000, 25_000, 80_000] : [30_000, 60_000, 100_000];
    const cols: Col[] = [
      { key: 'sent', label: 'calls to the dead dependency (% of offered)', better: 'low', digits: 2 },
      { key: 'sentAfter', label: 'of which after detection (% of offered)', better: 'low', digits: 2 },
      { key: 'detect', label: 'time to open (s)', better: 'low', digits: 3 },
      { key: 'resume', label: 'success ≥ 95 % of λ after heal (s)', better: 'low', digits: 2 },
      { key: 'closeAfter', label: 'breaker closed after heal (s)', better: 'low', digits: 2 },
      { key: 'probes', label: 'probe calls', better: 'low', digits: 0 },
      { key: 'lost', label: 'goodput lost after heal (s of λ)', better: 'low', digits: 2 },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's10-hard-down', title: 'S10 hard-down dependency: every call fails in 1 ms during the outage', lines: [], marks: [downAt, healAt] };
    const breakers = await breakerConfigs();
    const instrumented = await Promise.all([
      ...breakers.map((b) => instrumentedBreaker(b, false)),
      ...breakers.filter((b) => b.id === 'sluice').map((b) => instrumentedBreaker(b, true)),
    ]);
    const entries: { p: PolicyEntry; log?: () => BreakerLog }[] = [
      // The generic breaker rows are replaced by the instrumented ones (same configuration).
      ...ctx.policies.filter((p) => !p.id.startsWith('breaker')).map((p) => ({ p })),
      ...instrumented.map((i) => ({ p: i.entry, log: i.log })),
      ...(await throttlePolicies()).map((p) => ({ p })),
    ];
    for (const { p, log } of entries) {
      let kept: SimResult | undefined;
      const values = await perSeed(ctx, `S10 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          downstream: { workers: 40, service: exponential(40), down: [{ fromMs: downAt, toMs: healAt }] },
          load: { perSecond: 800 },
          policy: p.build,
        });
        kept ??= r;
        const outage = r.window(downAt, healAt);
        const after = r.window(healAt, durationMs);
        const out: Record<string, number> = {
          sent: pct(outage.amplification),
          resume: recoveryMs(r.series, healAt, 800, 0.95, 1000) / 1000,
          // Goodput missing after the heal, in seconds of full load: (offered − goodput) · window / λ.
          lost: ((after.offeredPerSecond - after.goodputPerSecond) * (durationMs - healAt)) / 1000 / 800,
          sentAfter: NaN,
          detect: NaN,
          closeAfter: NaN,
          probes: NaN,
        };
        if (log !== undefined) {
          const l = log();
          const open = l.opens.find((t) => t >= downAt && t < healAt);
          const close = l.closes.find((t) => t >= healAt);
          out.detect = open === undefined ? Infinity : (open - downAt) / 1000;
          out.closeAfter = close === undefined ? Infinity : (close - healAt) / 1000;
          out.sentAfter = open === undefined ? pct(outage.amplification) : pct(l.calls.filter((c) => c.at >= open && c.at < healAt).length / outage.arrivals);
          out.probes = l.calls.filter((c) => c.probe).length;
        }
        return out;
      });
      rows.push({ label: p.label, values });
      // The configuration details are in the table; the legend keeps the names.
      if ((p.id === 'none' || p.id.startsWith('breaker')) && kept !== undefined) chart.lines.push({ policy: p.label.replace(/ \([^)]*\)/, ''), series: kept.series });
    }
    const sluice = rows.find((r) => r.label.startsWith('breaker: sluice defaults'));
    const r4j = rows.find((r) => r.label.startsWith('breaker: Resilience4j'));
    const m = (r: typeof sluice, k: string, digits = 2): string => (r === undefined ? '—' : fmt(median(r.values[k] ?? []), digits));
    return {
      id: 'S10',
      title: this.title,
      setup: `λ = 0.8 C; from ${downAt / 1000} s to ${healAt / 1000} s the dependency fails every call in 1 ms, then heals; ${durationMs / 1000} s. Breaker rows are sluice's \`circuitBreaker\` configured as each library's defaults.`,
      explain:
        `A breaker is built for exactly this failure: every call fails fast, so the breaker opens within a few dozen calls (sluice's defaults: ${m(sluice, 'detect', 3)} s; failsafe-go's, which open on the first failure: ${m(rows.find((r) => r.label.startsWith('breaker: failsafe-go')), 'detect', 3)} s) and refuses the rest, sending ${m(sluice, 'sentAfter')} % of the offered calls (its probes) after detection. ` +
        `What separates the configurations is the way back: sluice's defaults probe after 0.5–1.5 s (growing while the dependency stays down) and resume ${m(sluice, 'resume')} s after the heal; ` +
        `Resilience4j's and failsafe-go's 60 s open interval keeps refusing a healthy dependency for up to a minute (Resilience4j here: ${m(r4j, 'resume')} s, ${m(r4j, 'lost')} s of goodput lost). ` +
        'Limiters (bulkheads, buckets, adaptive limiters) do nothing here: the dead dependency answers at once, so no permit is ever scarce and every call is sent. ' +
        `The SRE adaptive throttle is graded, not a switch: with the book's K = 2 over 120 s it still sends ${m(rows.find((r) => r.label.startsWith('adaptive throttle: SRE book K = 2')), 'sent')} % of offered calls to the dead dependency and takes ${m(rows.find((r) => r.label.startsWith('adaptive throttle: SRE book K = 2')), 'resume')} s to resume after the heal (every local refusal counts as a request not accepted, so the window must fill with successes again); sluice's defaults (10 s window, at most 0.9) send ${m(rows.find((r) => r.label.startsWith('adaptive throttle: sluice defaults')), 'sent')} % and resume in ${m(rows.find((r) => r.label.startsWith('adaptive throttle: sluice defaults')), 'resume')} s. Behind the breaker (\`pipeline(circuitBreaker(), adaptiveThrottle())\`) the pair meets T12: the breaker stops the calls (${m(rows.find((r) => r.label.startsWith('circuit breaker (defaults) → adaptive throttle')), 'sent')} % sent during the outage), the throttle sees none while the circuit is open and forgets the outage, and the pair resumes ${m(rows.find((r) => r.label.startsWith('circuit breaker (defaults) → adaptive throttle')), 'resume')} s after the heal; the throttle is there for the partly overloaded dependency the breaker does not open for. In the other order the throttle's own refusals, which the SRE formula counts as requests not accepted, keep it refusing long after the heal.`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '≈ 0 (probes only)', '≈ 0', '≤ one window', '≤ one probe interval', '≈ 0', 'few', '0'],
          ['target (T12)', '—', '≤ 2', '≤ 0.5', '≤ 2', '—', '—', '—'],
        ]),
      ],
      charts: [chart],
      notes: [
        '"Calls to the dead dependency" counts attempts sent during the outage per first attempt offered during it; "after detection" counts only those the breaker let through after it first opened (its probes).',
        '"Time to open", "closed after heal" and "probe calls" (calls let through while half-open, over the whole run) come from the breaker\'s events; "—" for policies that are not breakers.',
        'Resilience4j closes when the failure rate of its 10 permitted half-open calls stays under 50 %: the configuration uses sluice\'s `halfOpenWindow: 10` rule, which judges a round the same way (reopen at 5 failures, close at 6 successes).',
        "sluice's defaults judge a half-open round over 20 probes at the closed state's 50 % threshold, and reopen after 3 failed probes while no probe has succeeded since the trip, so a dead dependency sees about 3 calls per probing round (`npm run bench:breaker-recovery` measures the trade-off against a healed but flaky dependency).",
        'Not compared: Envoy admission control (its rule is the SRE formula with an aggression exponent; the K = 1.1 row is the closest).',
      ],
    };
  },
};
