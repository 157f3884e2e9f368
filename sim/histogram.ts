/**
 * A log-bucket histogram (DDSketch-style) for latencies and other positive values.
 *
 * Bucket i holds the values in (γ^(i-1), γ^i] with γ = (1+α)/(1-α); a quantile is reported as
 * the bucket's point 2γ^i/(γ+1), within relative error α of every value in the bucket — so
 * every quantile is within α (default 1 %) of the exact order statistic it stands for.
 *
 * Memory is bounded by the range, not the number of values: buckets cover [lowest, highest]
 * (default 1e-9 to 1e18, i.e. 1 ns to 30 years in nanoseconds, or 1 ns to 30 billion years
 * in seconds): at most ~3,100 buckets at α = 1 %, allocated lazily over the span the values
 * actually occupy. Values below `lowest` count in the lowest bucket, above `highest` in the
 * highest (their quantiles lose the error bound, but min and max stay exact). Zero is counted
 * apart. Negative values and NaN are refused.
 */

export interface LogHistogramOptions {
  /** Relative accuracy of quantiles, in (0, 1); default 0.01. */
  relativeError?: number;
  /** Smallest positive value resolved; default 1e-9. */
  lowest?: number;
  /** Largest value resolved; default 1e18. */
  highest?: number;
}

/** The plain-data form of a histogram, for JSON or structured clone between worker threads. */
export interface LogHistogramJSON {
  relativeError: number;
  lowest: number;
  highest: number;
  count: number;
  zeroCount: number;
  sum: number;
  /** null when empty (JSON has no Infinity). */
  min: number | null;
  max: number | null;
  /** Non-empty buckets as [bucket index, count]. */
  buckets: Array<[number, number]>;
}

const INITIAL_SPAN = 64;

/**
 * Finding a value's bucket without a logarithm (Math.log is a call into C, about a third of
 * the cost of record()). A positive double's high 32 bits are its exponent and the top 20 bits
 * of its mantissa; the exponent and the M leading mantissa bits name a "slice" of the number
 * line, [2^e·(1 + m/2^M), 2^e·(1 + (m+1)/2^M)), narrower (as a ratio) than a bucket when
 * 2^-M < γ - 1. A table gives the bucket of each slice's lower end. With M three bits beyond
 * that (M = 9 at α = 1 %), nine slices in ten lie inside one bucket and the table's answer is
 * final; the others straddle one bucket edge, flagged in the table, and one comparison with
 * the edge settles them. (Comparing every time was a mispredicted branch half the time: 11 ns
 * per record() instead of 6.) The buckets are exactly those of the definition, (γ^(i-1), γ^i],
 * with γ^i as Math.pow computes it. The table is shared by every histogram of one
 * configuration (210 KB at the default one); where the finer table would exceed TABLE_LIMIT
 * entries the coarser one is used, and where that would too, the logarithm.
 */
interface BucketTable {
  /**
   * Slice key (high word >>> shift) minus keyBase → 2 · the bucket of the slice's lower end,
   * + 1 if the slice straddles the bucket's upper edge.
   */
  readonly keys: Int32Array;
  /** upper[i - minIndex] = γ^i, the largest value in bucket i (Infinity for the last). */
  readonly upper: Float64Array;
  readonly shift: number;
  readonly keyBase: number;
}

/** The most table memory (keys and bounds, in entries) worth spending; beyond it, Math.log. */
const TABLE_LIMIT = 1 << 17;
const tables = new Map<string, BucketTable | null>();
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
/** Which 32-bit word of a double holds the exponent: 1 on little-endian machines. */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

function bucketTable(gamma: number, lowest: number, highest: number, minIndex: number, maxIndex: number): BucketTable | null {
  const id = `${gamma}|${lowest}|${highest}`;
  let table = tables.get(id);
  if (table === undefined) {
    table = buildBucketTable(gamma, lowest, highest, minIndex, maxIndex);
    tables.set(id, table);
  }
  return table;
}

/** Exported for its test, which compares it with a slice-by-slice construction. */
export function buildBucketTable(gamma: number, lowest: number, highest: number, minIndex: number, maxIndex: number): BucketTable | null {
  if (!(lowest >= 2 ** -1000 && highest <= 2 ** 1000)) return null;
  // Slices narrower than a bucket: 2^-M < γ - 1, strictly; then 8 times narrower still, so
  // that nine in ten slices lie inside one bucket and need no comparison (when the table
  // stays small enough).
  const narrow = Math.floor(-Math.log2(gamma - 1)) + 1;
  const eLow = Math.floor(Math.log2(lowest));
  const eHigh = Math.floor(Math.log2(highest));
  const buckets = maxIndex - minIndex + 1;
  const fits = (m: number): boolean => m <= 20 && ((eHigh - eLow + 1) << m) + buckets <= TABLE_LIMIT;
  const m = fits(narrow + 3) ? narrow + 3 : narrow;
  if (!(m >= 0) || !fits(m)) return null;
  const slices = (eHigh - eLow + 1) << m;
  const upper = new Float64Array(buckets);
  for (let i = 0; i < buckets - 1; i++) upper[i] = Math.pow(gamma, minIndex + i);
  upper[buckets - 1] = Infinity;
  // Slice k covers [2^e · (1 + j / 2^M), 2^e · (1 + (j + 1) / 2^M)) for k = (e - eLow) · 2^M + j;
  // bucketOf's key of a value is the slice that holds it, exactly (the bounds are binary
  // fractions). Bucket b's slices are those after the one holding upper[b - 1], up to the one
  // holding upper[b]: that last one straddles the edge, which it is flagged for. One fill per
  // bucket rather than a test per slice: this runs once per process, before the JIT has warmed
  // up, and a slice-by-slice scan took ~5 ms of it.
  const keys = new Int32Array(slices);
  const shift = 20 - m;
  const keyBase = (eLow + 1023) << m;
  let from = 0; // the first slice not yet given a bucket
  let previousEdge = -1;
  for (let b = 0; b < buckets - 1 && from < slices; b++) {
    scratch[0] = upper[b];
    const edge = (scratchWords[HIGH_WORD] >>> shift) - keyBase;
    // The premise, checked rather than trusted to rounding: a slice meets at most two buckets.
    if (edge === previousEdge && edge >= 0 && edge < slices) return null;
    previousEdge = edge;
    if (edge < from) continue; // below the table
    const value = 2 * (minIndex + b);
    if (edge >= slices) {
      keys.fill(value, from);
      from = slices;
    } else {
      keys.fill(value, from, edge);
      keys[edge] = value + 1;
      from = edge + 1;
    }
  }
  if (from < slices) keys.fill(2 * maxIndex, from);
  return { keys, upper, shift, keyBase };
}

export class LogHistogram {
  readonly relativeError: number;
  readonly lowest: number;
  readonly highest: number;

  private readonly gamma: number;
  private readonly invLogGamma: number;
  private readonly minIndex: number;
  private readonly maxIndex: number;
  private readonly table: BucketTable | null;

  /** counts[k] is the count of bucket `base + k`. */
  private counts = new Float64Array(0);
  private base = 0;

  private _count = 0;
  private _zeroCount = 0;
  private _sum = 0;
  private _min = Infinity;
  private _max = -Infinity;

  constructor(options: LogHistogramOptions = {}) {
    const alpha = options.relativeError ?? 0.01;
    const lowest = options.lowest ?? 1e-9;
    const highest = options.highest ?? 1e18;
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`LogHistogram: relativeError must be in (0, 1), got ${alpha}`);
    if (!(lowest > 0 && highest > lowest && Number.isFinite(highest))) {
      throw new RangeError(`LogHistogram: need 0 < lowest < highest < Infinity, got ${lowest}, ${highest}`);
    }
    this.relativeError = alpha;
    this.lowest = lowest;
    this.highest = highest;
    this.gamma = (1 + alpha) / (1 - alpha);
    this.invLogGamma = 1 / Math.log(this.gamma);
    this.minIndex = Math.ceil(Math.log(lowest) * this.invLogGamma);
    this.maxIndex = Math.ceil(Math.log(highest) * this.invLogGamma);
    this.table = bucketTable(this.gamma, lowest, highest, this.minIndex, this.maxIndex);
  }

  /** Values recorded, zeros included. */
  get count(): number {
    return this._count;
  }
  get zeroCount(): number {
    return this._zeroCount;
  }
  get sum(): number {
    return this._sum;
  }
  /** The exact mean (NaN when empty). */
  get mean(): number {
    return this._count > 0 ? this._sum / this._count : NaN;
  }
  /** The exact minimum (NaN when empty). */
  get min(): number {
    return this._count > 0 ? this._min : NaN;
  }
  /** The exact maximum (NaN when empty). */
  get max(): number {
    return this._count > 0 ? this._max : NaN;
  }
  /** Buckets allocated now (memory is 8 bytes each). */
  get allocatedBuckets(): number {
    return this.counts.length;
  }
  /** The most buckets this histogram can ever allocate. */
  get maxBuckets(): number {
    return this.maxIndex - this.minIndex + 1;
  }

  record(x: number): void {
    // The common case small enough to inline into a model's handler; zero and the values
    // refused go the long way.
    if (!(x > 0 && x < Infinity)) return this.recordN(x, 1);
    this._count++;
    this._sum += x;
    if (x < this._min) this._min = x;
    if (x > this._max) this._max = x;
    const k = this.bucketOf(x) - this.base;
    if (k >= 0 && k < this.counts.length) this.counts[k]++;
    else this.addToNewBucket(k + this.base, 1);
  }

  /** Records `n` (a non-negative integer) occurrences of `x`. */
  recordN(x: number, n: number): void {
    if (!(x >= 0) || x === Infinity) throw new RangeError(`LogHistogram: cannot record ${x}`);
    if (!(n >= 0) || !Number.isInteger(n)) throw new RangeError(`LogHistogram: count must be a non-negative integer, got ${n}`);
    if (n === 0) return;
    this._count += n;
    this._sum += x * n;
    if (x < this._min) this._min = x;
    if (x > this._max) this._max = x;
    if (x === 0) {
      this._zeroCount += n;
      return;
    }
    const k = this.bucketOf(x) - this.base;
    if (k >= 0 && k < this.counts.length) this.counts[k] += n;
    else this.addToNewBucket(k + this.base, n);
  }

  /** The bucket of a positive finite x: the i with γ^(i-1) < x <= γ^i, clamped to the range. */
  private bucketOf(x: number): number {
    const t = this.table;
    if (t === null) return this.bucketByLog(x);
    scratch[0] = x;
    const key = (scratchWords[HIGH_WORD] >>> t.shift) - t.keyBase;
    if (key < 0) return this.minIndex; // below the lowest binade: below `lowest`
    if (key >= t.keys.length) return this.maxIndex; // above the highest binade
    const entry = t.keys[key];
    const i = entry >> 1;
    if ((entry & 1) === 0) return i;
    return x > t.upper[i - this.minIndex] ? i + 1 : i;
  }

  private bucketByLog(x: number): number {
    const i = Math.ceil(Math.log(x) * this.invLogGamma);
    return i < this.minIndex ? this.minIndex : i > this.maxIndex ? this.maxIndex : i;
  }

  private addToNewBucket(i: number, n: number): void {
    this.cover(i, i);
    this.counts[i - this.base] += n;
  }

  /**
   * The q-quantile (q in [0, 1]): an estimate, within the relative error, of the order
   * statistic of rank floor(q·(count-1)) (0-based) — q = 0 is the min, q = 1 the max, exactly.
   * NaN when empty.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`LogHistogram.quantile: q must be in [0, 1], got ${q}`);
    if (this._count === 0) return NaN;
    if (q === 0) return this._min;
    if (q === 1) return this._max;
    const rank = Math.floor(q * (this._count - 1));
    if (rank < this._zeroCount) return 0;
    let cum = this._zeroCount;
    const counts = this.counts;
    for (let k = 0; k < counts.length; k++) {
      cum += counts[k];
      if (cum > rank) {
        const v = (2 * Math.pow(this.gamma, this.base + k)) / (this.gamma + 1);
        return v < this._min ? this._min : v > this._max ? this._max : v;
      }
    }
    return this._max; // unreachable unless counts were corrupted
  }

  /** Adds another histogram's values to this one; both must have the same configuration. */
  merge(other: LogHistogram): this {
    if (other.relativeError !== this.relativeError || other.lowest !== this.lowest || other.highest !== this.highest) {
      throw new RangeError("LogHistogram.merge: histograms differ in relativeError, lowest or highest");
    }
    if (other._count === 0) return this;
    this._count += other._count;
    this._zeroCount += other._zeroCount;
    this._sum += other._sum;
    if (other._min < this._min) this._min = other._min;
    if (other._max > this._max) this._max = other._max;
    const oc = other.counts;
    let first = -1;
    let last = -1;
    for (let k = 0; k < oc.length; k++) {
      if (oc[k] !== 0) {
        if (first < 0) first = k;
        last = k;
      }
    }
    if (first < 0) return this;
    this.cover(other.base + first, other.base + last);
    for (let k = first; k <= last; k++) this.counts[other.base + k - this.base] += oc[k];
    return this;
  }

  /** A copy (e.g. to merge replications without touching the originals). */
  clone(): LogHistogram {
    return LogHistogram.fromJSON(this.toJSON());
  }

  toJSON(): LogHistogramJSON {
    const buckets: Array<[number, number]> = [];
    for (let k = 0; k < this.counts.length; k++) {
      if (this.counts[k] !== 0) buckets.push([this.base + k, this.counts[k]]);
    }
    return {
      relativeError: this.relativeError,
      lowest: this.lowest,
      highest: this.highest,
      count: this._count,
      zeroCount: this._zeroCount,
      sum: this._sum,
      min: this._count > 0 ? this._min : null,
      max: this._count > 0 ? this._max : null,
      buckets,
    };
  }

  static fromJSON(json: LogHistogramJSON): LogHistogram {
    const h = new LogHistogram({ relativeError: json.relativeError, lowest: json.lowest, highest: json.highest });
    let total = json.zeroCount;
    for (const [index, n] of json.buckets) {
      if (!Number.isInteger(index) || index < h.minIndex || index > h.maxIndex || !(n >= 0)) {
        throw new RangeError(`LogHistogram.fromJSON: bad bucket [${index}, ${n}]`);
      }
      total += n;
    }
    if (total !== json.count) throw new RangeError(`LogHistogram.fromJSON: bucket counts sum to ${total}, count is ${json.count}`);
    if (json.buckets.length > 0) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const [index] of json.buckets) {
        if (index < lo) lo = index;
        if (index > hi) hi = index;
      }
      h.cover(lo, hi);
      for (const [index, n] of json.buckets) h.counts[index - h.base] += n;
    }
    h._count = json.count;
    h._zeroCount = json.zeroCount;
    h._sum = json.sum;
    h._min = json.min ?? Infinity;
    h._max = json.max ?? -Infinity;
    return h;
  }

  /** Grows the bucket array to include indices lo..hi, with slack, within the allowed range. */
  private cover(lo: number, hi: number): void {
    const len = this.counts.length;
    if (len > 0 && lo >= this.base && hi < this.base + len) return;
    let newLo: number;
    let newHi: number;
    if (len === 0) {
      newLo = lo - INITIAL_SPAN / 2;
      newHi = hi + INITIAL_SPAN / 2;
    } else {
      // At least double, so that a slow drift costs O(log) reallocations.
      newLo = Math.min(lo, this.base);
      newHi = Math.max(hi, this.base + len - 1);
      const grow = Math.max(len, newHi - newLo + 1 - len);
      if (lo < this.base) newLo -= grow;
      if (hi >= this.base + len) newHi += grow;
    }
    newLo = Math.max(newLo, this.minIndex);
    newHi = Math.min(newHi, this.maxIndex);
    const counts = new Float64Array(newHi - newLo + 1);
    if (len > 0) counts.set(this.counts, this.base - newLo);
    this.counts = counts;
    this.base = newLo;
  }
}
