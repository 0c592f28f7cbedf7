/**
 * Queueing-theory references for the simulator's self-checks, computed from first principles (Erlang C for M/M/c,
 * the birth–death chain for M/M/c/K), so the tests compare the simulator with theory rather than with numbers it
 * produced itself. Times in ms; rates per ms.
 */

/** Erlang C: probability that an arrival waits in M/M/c at offered load a = λ/μ (a < c). */
export function erlangC(c: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < c; k++) {
    term *= a / k;
    sum += term;
  }
  const last = (term * a) / c; // a^c / c!
  const rho = a / c;
  const x = last / (1 - rho);
  return x / (sum + x);
}

/** Bisection for the p-quantile of a distribution given by its tail function. */
function quantile(tail: (t: number) => number, p: number): number {
  let lo = 0;
  let hi = 1;
  while (tail(hi) > 1 - p) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tail(mid) > 1 - p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** M/M/c FIFO response time: mean and percentiles. */
export function mmc(c: number, meanServiceMs: number, lambdaPerSecond: number): { pWait: number; mean: number; p50: number; p99: number } {
  const mu = 1 / meanServiceMs;
  const lambda = lambdaPerSecond / 1000;
  const pw = erlangC(c, lambda / mu);
  const theta = c * mu - lambda;
  const tail = (t: number): number => {
    const s = Math.exp(-mu * t);
    const conv = Math.abs(theta - mu) < 1e-12 ? (1 + mu * t) * s : (theta * s - mu * Math.exp(-theta * t)) / (theta - mu);
    return (1 - pw) * s + pw * conv;
  };
  return { pWait: pw, mean: meanServiceMs + pw / theta, p50: quantile(tail, 0.5), p99: quantile(tail, 0.99) };
}

/**
 * M/M/c/L (a limiter that admits while fewer than L are in flight, c workers behind it): admitted goodput and the
 * response-time percentiles of admitted requests.
 */
export function mmcl(c: number, limit: number, meanServiceMs: number, lambdaPerSecond: number): { goodputPerSecond: number; p99: number } {
  const mu = 1 / meanServiceMs;
  const lambda = lambdaPerSecond / 1000;
  const a = lambda / mu;
  const w: number[] = [1];
  for (let n = 1; n <= limit; n++) w.push(n <= c ? (w[n - 1]! * a) / n : (w[n - 1]! * a) / c);
  const z = w.reduce((x, y) => x + y, 0);
  const p = w.map((x) => x / z);
  const admitted = 1 - p[limit]!;
  const theta = c * mu;
  // P(S + Erlang(k, θ) > t), by numerical integration of the Erlang density against the Exp(μ) tail.
  const tailK = (k: number, t: number): number => {
    const steps = 400;
    const h = t / steps;
    let erlangTail = 0;
    let term = 1;
    for (let j = 0; j < k; j++) {
      if (j > 0) term *= (theta * t) / j;
      erlangTail += term;
    }
    erlangTail *= Math.exp(-theta * t);
    const f = (x: number): number => {
      let d = Math.exp(-theta * x) * theta;
      for (let j = 1; j < k; j++) d *= (theta * x) / j;
      return d * Math.exp(-mu * (t - x));
    };
    let integral = f(0) + f(t);
    for (let i = 1; i < steps; i++) integral += (i % 2 === 1 ? 4 : 2) * f(i * h);
    return erlangTail + (integral * h) / 3;
  };
  const tail = (t: number): number => {
    let s = 0;
    for (let n = 0; n < limit; n++) s += (p[n]! / admitted) * (n < c ? Math.exp(-mu * t) : tailK(n - c + 1, t));
    return s;
  };
  return { goodputPerSecond: lambda * admitted * 1000, p99: quantile(tail, 0.99) };
}

/** Relative difference |x − ref| / ref. */
export const rel = (x: number, ref: number): number => Math.abs(x - ref) / ref;
