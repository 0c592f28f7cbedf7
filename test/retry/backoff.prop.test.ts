/**
 * Backoff properties: every delay within [0, cap] (and within each variant's own floor) for any options, attempt
 * number and random draw; the same seed always yields the same schedule. Reproduce with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  constantBackoff,
  decorrelatedJitter,
  equalJitter,
  exponentialBackoff,
  fullJitter,
  type Backoff,
} from '../../src/retry/backoff.js';
import { seededRandom } from '../../src/core/random.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 300);
console.log(`backoff.prop: FC_SEED=${seed} (runs: ${numRuns})`);

type Kind = 'exponential' | 'full' | 'equal' | 'decorrelated';
const kinds: Kind[] = ['exponential', 'full', 'equal', 'decorrelated'];

const arbConfig = fc.record({
  kind: fc.constantFrom(...kinds),
  baseMs: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 1e6, noNaN: true })),
  extraCapMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e7, noNaN: true })),
  factor: fc.double({ min: 1, max: 10, noNaN: true }),
});

function make(c: { kind: Kind; baseMs: number; extraCapMs: number; factor: number }): { backoff: Backoff; baseMs: number; capMs: number } {
  const baseMs = c.kind === 'decorrelated' && c.baseMs === 0 ? 1 : c.baseMs;
  const capMs = baseMs + c.extraCapMs;
  const backoff =
    c.kind === 'exponential'
      ? exponentialBackoff({ baseMs, capMs, factor: c.factor })
      : c.kind === 'full'
        ? fullJitter({ baseMs, capMs, factor: c.factor })
        : c.kind === 'equal'
          ? equalJitter({ baseMs, capMs, factor: c.factor })
          : decorrelatedJitter({ baseMs, capMs });
  return { backoff, baseMs, capMs };
}

const failure = { kind: 'error', error: new Error('x') } as const;

function run(backoff: Backoff, random: () => number, attempts: number): number[] {
  const out: number[] = [];
  let previousDelayMs = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    previousDelayMs = backoff({ attempt, previousDelayMs, outcome: failure, random });
    out.push(previousDelayMs);
  }
  return out;
}

describe('backoff properties', () => {
  it('every delay is a finite number in [0, cap], and in [base, cap] for decorrelated jitter', () => {
    fc.assert(
      fc.property(
        arbConfig,
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 2_000 }),
        (config, draws, skip) => {
          const { backoff, baseMs, capMs } = make(config);
          let i = 0;
          const random = () => draws[i++ % draws.length]!;
          let previousDelayMs = 0;
          // Walk the first retries and a far attempt number (overflow region) with the same previous-delay chain.
          for (const attempt of [...draws.map((_, k) => k + 1), skip + 1, 10_000 + skip]) {
            const d = backoff({ attempt, previousDelayMs, outcome: failure, random });
            expect(Number.isFinite(d)).toBe(true);
            expect(d).toBeGreaterThanOrEqual(config.kind === 'decorrelated' ? baseMs : 0);
            expect(d).toBeLessThanOrEqual(capMs);
            if (config.kind === 'exponential' || config.kind === 'equal') {
              const ceiling = Math.min(capMs, baseMs * config.factor ** (attempt - 1));
              if (Number.isFinite(ceiling)) expect(d).toBeGreaterThanOrEqual(config.kind === 'equal' ? ceiling / 2 - 1e-9 * ceiling : ceiling * (1 - 1e-12));
            }
            previousDelayMs = d;
          }
        },
      ),
      { seed, numRuns },
    );
  });

  it('constant backoff returns its delay for any attempt', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.integer({ min: 1, max: 1e6 }), (delayMs, attempt) => {
        expect(constantBackoff({ delayMs })({ attempt, previousDelayMs: 0, outcome: failure, random: Math.random })).toBe(delayMs);
      }),
      { seed, numRuns },
    );
  });

  it('the same seed yields the same schedule', () => {
    fc.assert(
      fc.property(arbConfig, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 30 }), (config, s, n) => {
        const { backoff } = make(config);
        expect(run(backoff, seededRandom(s), n)).toEqual(run(backoff, seededRandom(s), n));
      }),
      { seed, numRuns },
    );
  });
});
