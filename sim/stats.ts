/**
 * Streaming statistics: memory independent of the number of observations.
 * (The log histogram is in histogram.ts; fairness indices, replication summaries and queueing
 * formulas have their own files; all are re-exported here and from index.ts.)
 */
import type { Nanos } from "./time.js";

export { LogHistogram } from "./histogram.js";
export type { LogHistogramJSON, LogHistogramOptions } from "./histogram.js";

/**
 * Mean and variance in one pass (Welford), numerically stable; mergeable (Chan et al.).
 * Empty: count 0 and NaN for everything else; one value: variance NaN (undefined for a sample).
 */
export class Welford {
  private n = 0;
  private _mean = 0;
  private m2 = 0;
  private _min = Infinity;
  private _max = -Infinity;

  add(x: number): void {
    const n = ++this.n;
    const delta = x - this._mean;
    this._mean += delta / n;
    this.m2 += delta * (x - this._mean);
    if (x < this._min) this._min = x;
    if (x > this._max) this._max = x;
  }

  get count(): number {
    return this.n;
  }
  get mean(): number {
    return this.n > 0 ? this._mean : NaN;
  }
  /** The sample variance (divisor n - 1). */
  get variance(): number {
    return this.n > 1 ? this.m2 / (this.n - 1) : NaN;
  }
  /** The population variance (divisor n). */
  get populationVariance(): number {
    return this.n > 0 ? this.m2 / this.n : NaN;
  }
  /** The sample standard deviation. */
  get stddev(): number {
    return Math.sqrt(this.variance);
  }
  get min(): number {
    return this.n > 0 ? this._min : NaN;
  }
  get max(): number {
    return this.n > 0 ? this._max : NaN;
  }
  get sum(): number {
    return this._mean * this.n;
  }

  /** Adds the observations summarised by `other` to this one. */
  merge(other: Welford): this {
    if (other.n === 0) return this;
    if (this.n === 0) {
      this.n = other.n;
      this._mean = other._mean;
      this.m2 = other.m2;
      this._min = other._min;
      this._max = other._max;
      return this;
    }
    const n = this.n + other.n;
    const delta = other._mean - this._mean;
    this._mean += (delta * other.n) / n;
    this.m2 += other.m2 + (delta * delta * this.n * other.n) / n;
    this.n = n;
    if (other._min < this._min) this._min = other._min;
    if (other._max > this._max) this._max = other._max;
    return this;
  }

  toJSON(): { count: number; mean: number; m2: number; min: number | null; max: number | null } {
    return { count: this.n, mean: this._mean, m2: this.m2, min: this.n > 0 ? this._min : null, max: this.n > 0 ? this._max : null };
  }

  static fromJSON(json: { count: number; mean: number; m2: number; min: number | null; max: number | null }): Welford {
    const w = new Welford();
    w.n = json.count;
    w._mean = json.mean;
    w.m2 = json.m2;
    w._min = json.min ?? Infinity;
    w._max = json.max ?? -Infinity;
    return w;
  }
}

/**
 * The time average of a piecewise-constant quantity (queue length, busy servers, open
 * connections): the integral of the value over time divided by the elapsed time.
 *
 * Time is the simulation clock (ns). `reset(now)` starts a new averaging window (e.g. at the
 * end of a warm-up) keeping the current value. Over an empty window, mean() is the current value.
 */
export class TimeWeighted {
  private start: Nanos;
  private last: Nanos;
  private current: number;
  private area = 0;

  constructor(start: Nanos = 0, initialValue = 0) {
    this.start = start;
    this.last = start;
    this.current = initialValue;
  }

  /** The value now. */
  get value(): number {
    return this.current;
  }

  /** The value changes to `value` at time `now` (now must not go backwards). */
  update(now: Nanos, value: number): void {
    const dt = now - this.last;
    if (dt < 0) throw new RangeError(`TimeWeighted.update: time went backwards (${now} < ${this.last})`);
    this.area += this.current * dt;
    this.last = now;
    this.current = value;
  }

  /** Shorthand for update(now, value + delta). */
  add(now: Nanos, delta: number): void {
    this.update(now, this.current + delta);
  }

  /** ∫ value dt from the window's start to `now` (value × ns). */
  integral(now: Nanos): number {
    const dt = now - this.last;
    if (dt < 0) throw new RangeError(`TimeWeighted: time went backwards (${now} < ${this.last})`);
    return this.area + this.current * dt;
  }

  /** The time-weighted mean over [window start, now]. */
  mean(now: Nanos): number {
    const elapsed = now - this.start;
    if (elapsed <= 0) return this.current;
    return this.integral(now) / elapsed;
  }

  /** Starts a new averaging window at `now`, keeping the current value. */
  reset(now: Nanos): void {
    if (now < this.last) throw new RangeError(`TimeWeighted.reset: time went backwards (${now} < ${this.last})`);
    this.start = now;
    this.last = now;
    this.area = 0;
  }
}

export { coefficientOfVariation, gini, jainIndex, maxOverMean } from "./fairness.js";
export { summarize } from "./summary.js";
export type { Summary } from "./summary.js";
