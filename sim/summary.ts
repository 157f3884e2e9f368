/**
 * Summaries over independent replications: the mean and its Student-t 95 % confidence interval.
 */
import { mean as ssMean, sampleStandardDeviation } from "simple-statistics";
import { studentTQuantile } from "./special.js";

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation across replications (NaN for n < 2). */
  sd: number;
  ci95Low: number;
  ci95High: number;
}

/**
 * n, mean, sample sd, and the two-sided 95 % interval mean ± t(0.975, n-1)·sd/√n.
 *
 * With n = 0 everything but n is NaN. With n = 1 the mean is the value and sd and the interval
 * are NaN: one replication says nothing about its own variability, and an interval of zero
 * width would claim a certainty there is none of. All values equal: a zero-width interval.
 */
export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`summarize: values must be finite, got ${v}`);
  }
  if (n === 0) return { n, mean: NaN, sd: NaN, ci95Low: NaN, ci95High: NaN };
  const mean = ssMean(values as number[]);
  if (n === 1) return { n, mean, sd: NaN, ci95Low: NaN, ci95High: NaN };
  const sd = sampleStandardDeviation(values as number[]);
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, ci95Low: mean - half, ci95High: mean + half };
}

const t975Cache = new Map<number, number>();

/** t(0.975, df), cached: summaries ask for the same few df over and over. */
export function t975(df: number): number {
  let t = t975Cache.get(df);
  if (t === undefined) {
    t = studentTQuantile(0.975, df);
    t975Cache.set(df, t);
  }
  return t;
}
