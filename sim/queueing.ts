/**
 * Analytic results for the M/M/c queue (Poisson arrivals at rate λ, exponential service at
 * rate μ per server, c servers, FIFO, infinite buffer), to check the simulator against.
 * Rates are per unit of time; results are in the same unit (1/μ = mean service time).
 */

function checkMmc(lambda: number, mu: number, c: number): void {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new RangeError(`M/M/c: lambda must be finite and >= 0, got ${lambda}`);
  if (!(mu > 0) || !Number.isFinite(mu)) throw new RangeError(`M/M/c: mu must be finite and > 0, got ${mu}`);
  if (!Number.isInteger(c) || c < 1) throw new RangeError(`M/M/c: c must be an integer >= 1, got ${c}`);
}

/** Server utilisation ρ = λ/(cμ). The queue is stable only for ρ < 1. */
export function mmcUtilization(lambda: number, mu: number, c: number): number {
  checkMmc(lambda, mu, c);
  return lambda / (c * mu);
}

/**
 * Erlang C: the probability that an arrival has to wait. Computed through the Erlang B
 * recursion B(k) = a·B(k-1) / (k + a·B(k-1)), stable for any c (no factorials or powers).
 * Returns 1 for an unstable queue (ρ >= 1): everyone waits, eventually forever.
 */
export function erlangC(lambda: number, mu: number, c: number): number {
  checkMmc(lambda, mu, c);
  const a = lambda / mu;
  const rho = a / c;
  if (rho >= 1) return 1;
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return b / (1 - rho * (1 - b));
}

/** Mean time in queue Wq = C / (cμ - λ); Infinity when unstable. */
export function mmcMeanWait(lambda: number, mu: number, c: number): number {
  checkMmc(lambda, mu, c);
  if (lambda >= c * mu) return Infinity;
  return erlangC(lambda, mu, c) / (c * mu - lambda);
}

/** Mean time in system W = Wq + 1/μ; Infinity when unstable. */
export function mmcMeanSojourn(lambda: number, mu: number, c: number): number {
  return mmcMeanWait(lambda, mu, c) + 1 / mu;
}

/** Mean number waiting Lq = λ·Wq (Little). */
export function mmcMeanQueueLength(lambda: number, mu: number, c: number): number {
  const wq = mmcMeanWait(lambda, mu, c);
  return wq === Infinity ? Infinity : lambda * wq;
}
