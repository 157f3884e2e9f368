/**
 * How evenly load spreads over servers (pods, nodes, endpoints), from a vector of per-server
 * loads (requests, busy time, connections). Loads must be finite and non-negative.
 *
 * Edge cases, chosen so that "all servers equally loaded" reads as perfectly fair:
 * - no servers (empty vector): NaN for every index;
 * - all loads zero: Jain 1, CV 0, max/mean 1, Gini 0 (nobody got more than anybody else).
 */

function check(loads: ArrayLike<number>, fn: string): void {
  for (let i = 0; i < loads.length; i++) {
    const x = loads[i];
    if (!(x >= 0) || x === Infinity) throw new RangeError(`${fn}: loads must be finite and >= 0, got ${x} at ${i}`);
  }
}

/**
 * Jain's fairness index (Σx)² / (n·Σx²): 1 when all loads are equal, 1/n when one server
 * takes everything, k/n when k servers share the load equally and the rest get nothing.
 */
export function jainIndex(loads: ArrayLike<number>): number {
  check(loads, "jainIndex");
  const n = loads.length;
  if (n === 0) return NaN;
  // Scaled by the largest load, so that tiny loads do not underflow when squared (the index
  // does not change with the scale).
  let max = 0;
  for (let i = 0; i < n; i++) if (loads[i] > max) max = loads[i];
  if (max === 0) return 1;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const x = loads[i] / max;
    sum += x;
    sq += x * x;
  }
  return (sum * sum) / (n * sq);
}

/** Population standard deviation over mean (the loads are all the servers, not a sample). */
export function coefficientOfVariation(loads: ArrayLike<number>): number {
  check(loads, "coefficientOfVariation");
  const n = loads.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += loads[i];
  const mean = sum / n;
  if (mean === 0) return 0;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (loads[i] - mean) * (loads[i] - mean);
  return Math.sqrt(sq / n) / mean;
}

/** The busiest server's load over the mean load: 1 when even, n when one server takes all. */
export function maxOverMean(loads: ArrayLike<number>): number {
  check(loads, "maxOverMean");
  const n = loads.length;
  if (n === 0) return NaN;
  let sum = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    sum += loads[i];
    if (loads[i] > max) max = loads[i];
  }
  if (sum === 0) return 1;
  return max / (sum / n);
}

/**
 * The Gini coefficient Σᵢ Σⱼ |xᵢ - xⱼ| / (2n²·mean): 0 when even, (n-1)/n when one server
 * takes all (the population form, not rescaled to reach 1).
 */
export function gini(loads: ArrayLike<number>): number {
  check(loads, "gini");
  const n = loads.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(loads).sort();
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    sum += sorted[i];
    weighted += (i + 1) * sorted[i];
  }
  if (sum === 0) return 0;
  // With x sorted ascending: G = 2·Σ i·x_i / (n·Σx) - (n+1)/n, i from 1.
  return Math.max(0, (2 * weighted) / (n * sum) - (n + 1) / n);
}
