import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { METRIC, noopMetrics } from '../../src/metrics/metrics.js';

const d = (name: string, labels: Record<string, string> = {}) => ({ name, help: `${name} help`, labels });

/** Within hdr-histogram's precision (3 significant digits). */
const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-3);

describe('createMetricsRegistry', () => {
  it('reads counters and gauges when the snapshot is taken, not when registered', () => {
    const m = createMetricsRegistry();
    let count = 0;
    let level = 5;
    m.counter(d('c_total', { policy: 'a' }), () => count);
    m.gauge(d('g', { policy: 'a' }), () => level);
    count = 3;
    level = 2;
    expect(m.snapshot()).toEqual([
      { type: 'counter', name: 'c_total', help: 'c_total help', labels: { policy: 'a' }, value: 3 },
      { type: 'gauge', name: 'g', help: 'g help', labels: { policy: 'a' }, value: 2 },
    ]);
  });

  it('keeps one series per name and label set, whatever the label order', () => {
    const m = createMetricsRegistry();
    m.counter(d('x', { a: '1', b: '2' }), () => 1);
    m.counter(d('x', { a: '1', b: '3' }), () => 2);
    m.counter(d('x', { b: '2', a: '1' }), () => 7); // same series as the first: replaces it
    expect(m.snapshot().map((s) => (s.type === 'histogram' ? NaN : s.value)).sort()).toEqual([2, 7]);
  });

  it('unregister removes the series; a stale unregister does not remove a newer registration', () => {
    const m = createMetricsRegistry();
    const first = m.gauge(d('g'), () => 1);
    first();
    expect(m.snapshot()).toEqual([]);
    const again = m.gauge(d('g'), () => 2);
    const replaced = m.gauge(d('g'), () => 3);
    again();
    expect(m.snapshot()).toMatchObject([{ name: 'g', value: 3 }]);
    replaced();
    replaced();
    expect(m.snapshot()).toEqual([]);
  });

  it('keeps one distribution per series and summarises it in the snapshot', () => {
    const m = createMetricsRegistry();
    const h = m.histogram(d('wait_ms', { policy: 'p' }))!;
    const same = m.histogram(d('wait_ms', { policy: 'p' }))!;
    const other = m.histogram(d('wait_ms', { policy: 'q' }))!;
    h.record(10);
    same.record(20);
    other.record(30);
    const s = m.snapshot().find((x) => x.type === 'histogram' && x.labels.policy === 'p');
    expect(s).toMatchObject({ type: 'histogram', name: 'wait_ms', summary: { count: 2 } });
    expect(m.histogramSummary('wait_ms', { policy: 'q' })!.count).toBe(1);
  });

  it('regression: histograms were never unregistered: the series leaves when its last registration unregisters', () => {
    const m = createMetricsRegistry();
    const a = m.histogram(d('h_ms', { policy: 'p' }))!;
    const b = m.histogram(d('h_ms', { policy: 'p' }))!;
    a.record(1);
    a.unregister!();
    a.unregister!(); // a second unregister of one registration does not count as the other's
    expect(m.histogramSummary('h_ms', { policy: 'p' })!.count).toBe(1);
    b.unregister!();
    expect(m.histogramSummary('h_ms', { policy: 'p' })).toBeUndefined();
    expect(m.snapshot()).toEqual([]);
    const fresh = m.histogram(d('h_ms', { policy: 'p' }))!; // a new registration starts an empty series
    fresh.record(2);
    expect(m.histogramSummary('h_ms', { policy: 'p' })!.count).toBe(1);
    b.unregister!(); // stale: does not remove the newer series
    expect(m.histogramSummary('h_ms', { policy: 'p' })!.count).toBe(1);
  });

  it('percentiles are within hdr precision: 1..1000 ms gives p50 ≈ 500, p90 ≈ 900, p99 ≈ 990', () => {
    const m = createMetricsRegistry();
    const h = m.histogram(d('lat_ms'))!;
    for (let v = 1; v <= 1000; v++) h.record(v);
    const s = m.histogramSummary('lat_ms', {})!;
    expect(s.count).toBe(1000);
    near(s.p50, 500);
    near(s.p90, 900);
    near(s.p99, 990);
    near(s.p999, 999);
    near(s.min, 1);
    near(s.max, 1000);
    near(s.mean, 500.5);
  });

  it('keeps sub-millisecond values to the microsecond', () => {
    const m = createMetricsRegistry();
    const h = m.histogram(d('fast_ms'))!;
    for (const v of [0.001, 0.25, 0.5, 0.75]) h.record(v);
    const s = m.histogramSummary('fast_ms', {})!;
    expect(s.min).toBe(0.001);
    expect(s.p50).toBe(0.25);
    expect(s.max).toBe(0.75);
  });

  it('a histogram of zeros reports min 0 (regression: min came out as MAX_SAFE_INTEGER / 1000)', () => {
    const m = createMetricsRegistry();
    const h = m.histogram(d('zero_ms'))!;
    h.record(0);
    h.record(0.0001); // below 1 µs: rounds to 0
    expect(m.histogramSummary('zero_ms', {})).toEqual({ count: 2, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 });
    h.record(5);
    expect(m.histogramSummary('zero_ms', {})!.min).toBe(0);
  });

  it('ignores negative and NaN values and clamps values above an hour', () => {
    const m = createMetricsRegistry();
    const h = m.histogram(d('odd_ms'))!;
    h.record(-1);
    h.record(Number.NaN);
    expect(m.histogramSummary('odd_ms', {})!.count).toBe(0);
    h.record(10 * 3_600_000);
    const s = m.histogramSummary('odd_ms', {})!;
    expect(s.count).toBe(1);
    near(s.max, 3_600_000);
  });

  it('an empty histogram summarises to zeros; an unknown series to undefined', () => {
    const m = createMetricsRegistry();
    m.histogram(d('empty_ms'));
    expect(m.histogramSummary('empty_ms', {})).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 });
    expect(m.histogramSummary('nope', {})).toBeUndefined();
    expect(m.histogramSummary('empty_ms', { policy: 'x' })).toBeUndefined();
  });

  it('resetHistograms clears distributions but keeps counters and gauges', () => {
    const m = createMetricsRegistry();
    m.counter(d('c_total'), () => 4);
    const h = m.histogram(d('h_ms'))!;
    h.record(3);
    m.resetHistograms();
    expect(m.histogramSummary('h_ms', {})!.count).toBe(0);
    expect(m.snapshot().find((s) => s.name === 'c_total')).toMatchObject({ value: 4 });
    h.record(7);
    expect(m.histogramSummary('h_ms', {})!.count).toBe(1);
  });
});

describe('noopMetrics', () => {
  it('records nothing: registrations return a no-op unregister, histograms are not handed out', () => {
    expect(Object.isFrozen(noopMetrics)).toBe(true);
    let reads = 0;
    const u = noopMetrics.counter(d('c'), () => ++reads);
    noopMetrics.gauge(d('g'), () => ++reads)();
    u();
    expect(reads).toBe(0);
    expect(noopMetrics.histogram(d('h'))).toBeUndefined();
  });
});

describe('METRIC', () => {
  it('names are stable, snake_case, with unit or _total suffixes where they count', () => {
    expect(Object.isFrozen(METRIC)).toBe(true);
    for (const name of Object.values(METRIC)) expect(name).toMatch(/^sluice_[a-z_]+$/);
    expect(METRIC).toMatchObject({
      admitted: 'sluice_admitted_total',
      rejected: 'sluice_rejected_total',
      queued: 'sluice_queue_length',
      tokens: 'sluice_tokens',
      queueWait: 'sluice_queue_wait_ms',
      duration: 'sluice_call_duration_ms',
    });
  });
});
