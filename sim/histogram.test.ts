import { describe, expect, it } from "vitest";
import { Lognormal } from "./distributions.js";
import { buildBucketTable, LogHistogram } from "./histogram.js";
import { createStream } from "./random.js";
import { NS_PER_MS } from "./time.js";

const QUANTILES = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999];

/** The order statistic LogHistogram.quantile estimates: rank floor(q·(n-1)), 0-based. */
function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function logUniform(n: number, lo: number, hi: number, name: string): Float64Array {
  const rng = createStream(5, 0, name);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = lo * Math.pow(hi / lo, rng.next());
  return x;
}

function expectWithin(h: LogHistogram, data: Float64Array, relativeError: number): void {
  const sorted = Float64Array.from(data).sort();
  for (const q of QUANTILES) {
    const exact = exactQuantile(sorted, q);
    const est = h.quantile(q);
    // The bound is exact in real arithmetic; allow for the rounding of one log().
    expect(Math.abs(est - exact) / exact, `q=${q}: ${est} vs ${exact}`).toBeLessThanOrEqual(relativeError * (1 + 1e-9));
  }
}

describe("LogHistogram", () => {
  it("gives quantiles within 1 % of the exact ones, for latencies spanning 1 ns to 3 hours", () => {
    const data = logUniform(100_000, 1, 1e13, "span");
    const h = new LogHistogram();
    for (const x of data) h.record(x);
    expectWithin(h, data, 0.01);
    expect(h.count).toBe(data.length);
  });

  it("gives quantiles within 1 % on heavy-tailed lognormal service times", () => {
    const d = new Lognormal(2 * NS_PER_MS, 3);
    const rng = createStream(6, 0, "ln");
    const data = Float64Array.from({ length: 100_000 }, () => d.sample(rng));
    const h = new LogHistogram();
    for (const x of data) h.record(x);
    expectWithin(h, data, 0.01);
  });

  it("honours another relative error, in seconds as well as nanoseconds", () => {
    const data = logUniform(50_000, 1e-6, 10, "seconds");
    const h = new LogHistogram({ relativeError: 0.001 });
    for (const x of data) h.record(x);
    expectWithin(h, data, 0.001);
  });

  it("keeps count, mean, min and max exact, and q=0 / q=1 are min / max", () => {
    const h = new LogHistogram();
    const values = [3, 1, 4, 1, 5, 9, 2, 6];
    for (const v of values) h.record(v);
    expect(h.count).toBe(8);
    expect(h.mean).toBe(31 / 8);
    expect(h.min).toBe(1);
    expect(h.max).toBe(9);
    expect(h.quantile(0)).toBe(1);
    expect(h.quantile(1)).toBe(9);
  });

  it("counts zeros apart", () => {
    const h = new LogHistogram();
    h.recordN(0, 60);
    h.recordN(10, 40);
    expect(h.count).toBe(100);
    expect(h.zeroCount).toBe(60);
    expect(h.quantile(0.5)).toBe(0);
    expect(h.quantile(0.59)).toBe(0);
    expect(Math.abs(h.quantile(0.7) - 10) / 10).toBeLessThanOrEqual(0.01);
    expect(h.mean).toBe(4);
    expect(h.min).toBe(0);
  });

  it("recordN(x, n) is n times record(x)", () => {
    const a = new LogHistogram();
    const b = new LogHistogram();
    a.recordN(123.4, 5);
    for (let i = 0; i < 5; i++) b.record(123.4);
    expect(a.toJSON()).toEqual(b.toJSON());
  });

  it("merging equals recording everything in one histogram", () => {
    const parts = [logUniform(20_000, 1e3, 1e9, "m1"), logUniform(20_000, 1e6, 1e12, "m2"), new Float64Array([0, 0, 5])];
    const merged = new LogHistogram();
    const all = new LogHistogram();
    for (const part of parts) {
      const h = new LogHistogram();
      for (const x of part) {
        h.record(x);
        all.record(x);
      }
      merged.merge(h);
    }
    const m = merged.toJSON();
    const a = all.toJSON();
    expect(m.buckets).toEqual(a.buckets);
    expect(m.count).toBe(a.count);
    expect(m.zeroCount).toBe(a.zeroCount);
    expect(m.min).toBe(a.min);
    expect(m.max).toBe(a.max);
    expect(m.sum).toBeCloseTo(a.sum, -3); // float sums differ only in rounding order
    for (const q of QUANTILES) expect(merged.quantile(q)).toBe(all.quantile(q));
    expect(() => merged.merge(new LogHistogram({ relativeError: 0.02 }))).toThrow(RangeError);
  });

  it("survives JSON and structured clone (worker threads)", () => {
    const h = new LogHistogram();
    for (const x of logUniform(10_000, 1, 1e9, "json")) h.record(x);
    h.recordN(0, 3);
    const viaJson = LogHistogram.fromJSON(JSON.parse(JSON.stringify(h)));
    const viaClone = LogHistogram.fromJSON(structuredClone(h.toJSON()));
    for (const copy of [viaJson, viaClone]) {
      expect(copy.toJSON()).toEqual(h.toJSON());
      for (const q of QUANTILES) expect(copy.quantile(q)).toBe(h.quantile(q));
    }
    const empty = LogHistogram.fromJSON(JSON.parse(JSON.stringify(new LogHistogram())));
    expect(empty.count).toBe(0);
    expect(empty.quantile(0.5)).toBeNaN();
  });

  it("refuses corrupt JSON", () => {
    const json = new LogHistogram().toJSON();
    expect(() => LogHistogram.fromJSON({ ...json, count: 5 })).toThrow(RangeError);
    expect(() => LogHistogram.fromJSON({ ...json, count: 1, buckets: [[1e9, 1]] })).toThrow(RangeError);
  });

  it("stays within its bounded number of buckets whatever is recorded", () => {
    const h = new LogHistogram();
    for (const x of [1e-30, 1e-9, 1, 1e9, 1e18, 1e30, 5e300]) h.record(x);
    expect(h.allocatedBuckets).toBeLessThanOrEqual(h.maxBuckets);
    expect(h.maxBuckets).toBeLessThan(3200);
    expect(h.max).toBe(5e300);
    expect(h.quantile(1)).toBe(5e300);
    // A narrow range allocates few buckets.
    const narrow = new LogHistogram();
    for (const x of logUniform(10_000, 1e6, 2e6, "narrow")) narrow.record(x);
    expect(narrow.allocatedBuckets).toBeLessThan(200);
  });

  it("is NaN when empty and refuses negative, NaN and infinite values", () => {
    const h = new LogHistogram();
    expect(h.quantile(0.5)).toBeNaN();
    expect(h.mean).toBeNaN();
    expect(h.min).toBeNaN();
    expect(() => h.record(-1)).toThrow(RangeError);
    expect(() => h.record(NaN)).toThrow(RangeError);
    expect(() => h.record(Infinity)).toThrow(RangeError);
    expect(() => h.recordN(1, 1.5)).toThrow(RangeError);
    expect(() => h.quantile(1.5)).toThrow(RangeError);
    expect(h.count).toBe(0);
  });
});

describe("LogHistogram buckets", () => {
  /** The bucket a single recorded value lands in, from the histogram's own JSON. */
  function bucketOf(x: number, options = {}): number {
    const h = new LogHistogram(options);
    h.record(x);
    return h.toJSON().buckets[0][0];
  }

  it("puts x in the bucket i with γ^(i-1) < x <= γ^i, from 1e-12 to 1e20, with the range clamped", () => {
    for (const relativeError of [0.01, 0.001, 0.05]) {
      const gamma = (1 + relativeError) / (1 - relativeError);
      const h = new LogHistogram({ relativeError });
      const minIndex = Math.ceil(Math.log(h.lowest) / Math.log(gamma));
      const maxIndex = Math.ceil(Math.log(h.highest) / Math.log(gamma));
      const rng = createStream(8, 0, `buckets/${relativeError}`);
      for (let j = 0; j < 10_000; j++) {
        const x = 1e-12 * Math.pow(1e32, rng.next());
        const i = bucketOf(x, { relativeError });
        if (i === minIndex) expect(x <= Math.pow(gamma, i) * (1 + 1e-12)).toBe(true);
        else if (i === maxIndex) expect(x > Math.pow(gamma, i - 1) * (1 - 1e-12)).toBe(true);
        else {
          expect(x, `x=${x} in bucket ${i}`).toBeLessThanOrEqual(Math.pow(gamma, i) * (1 + 1e-12));
          expect(x, `x=${x} in bucket ${i}`).toBeGreaterThan(Math.pow(gamma, i - 1) * (1 - 1e-12));
        }
      }
    }
  });

  it("puts a bucket's upper bound in it and the next double above in the next", () => {
    const gamma = 1.01 / 0.99;
    for (const i of [-500, -1, 0, 1, 7, 100, 1000, 1700]) {
      const edge = Math.pow(gamma, i);
      expect(bucketOf(edge)).toBe(i);
      const words = new BigUint64Array(new Float64Array([edge]).buffer);
      words[0] += 1n; // the next double above
      expect(bucketOf(new Float64Array(words.buffer)[0])).toBe(i + 1);
    }
  });

  it("agrees with ceil(log(x) / log γ) away from bucket edges, also for ranges and accuracies without a lookup table", () => {
    for (const options of [{}, { relativeError: 1e-5 }, { lowest: 1e-310, highest: 1e300 }]) {
      const h = new LogHistogram(options);
      const inv = 1 / Math.log((1 + h.relativeError) / (1 - h.relativeError));
      const rng = createStream(9, 0, "agree");
      for (let j = 0; j < 5_000; j++) {
        const x = Math.pow(10, -8 + 24 * rng.next());
        const exact = Math.log(x) * inv;
        if (Math.abs(exact - Math.round(exact)) < 1e-9) continue; // too close to an edge to say
        expect(bucketOf(x, options) === Math.ceil(exact), `x=${x}`).toBe(true); // === : 0 and -0 are one bucket
      }
    }
  });
});

describe("LogHistogram's lookup table", () => {
  /**
   * The table by its definition, slice by slice: slice k = (e - eLow)·2^M + j starts at
   * 2^e·(1 + j/2^M); its entry is 2·(the bucket of that start), + 1 if the slice runs past the
   * bucket's upper edge; null if some slice holds two edges.
   */
  function tableBySlices(lowest: number, highest: number, minIndex: number, m: number, upper: Float64Array): Int32Array | null {
    const eLow = Math.floor(Math.log2(lowest));
    const eHigh = Math.floor(Math.log2(highest));
    const keys = new Int32Array((eHigh - eLow + 1) << m);
    let b = 0;
    let k = 0;
    for (let e = eLow; e <= eHigh; e++) {
      for (let j = 0; j < 1 << m; j++, k++) {
        const low = 2 ** e * (1 + j / 2 ** m);
        const next = 2 ** e * (1 + (j + 1) / 2 ** m);
        while (upper[b] < low) b++;
        const straddles = upper[b] < next;
        if (straddles && b + 1 < upper.length && upper[b + 1] < next) return null;
        keys[k] = 2 * (minIndex + b) + (straddles ? 1 : 0);
      }
    }
    return keys;
  }

  it("is, bucket by bucket, the table defined slice by slice", () => {
    const configs = [
      { alpha: 0.01, lowest: 1e-9, highest: 1e18 },
      { alpha: 0.001, lowest: 1e-9, highest: 1e18 },
      { alpha: 0.05, lowest: 1e-9, highest: 1e18 },
      { alpha: 0.2, lowest: 1e-3, highest: 1e3 },
      { alpha: 0.01, lowest: 3e-7, highest: 7e4 },
      { alpha: 0.003, lowest: 1, highest: 2 },
    ];
    let tables = 0;
    for (const { alpha, lowest, highest } of configs) {
      const gamma = (1 + alpha) / (1 - alpha);
      const minIndex = Math.ceil(Math.log(lowest) / Math.log(gamma));
      const maxIndex = Math.ceil(Math.log(highest) / Math.log(gamma));
      const table = buildBucketTable(gamma, lowest, highest, minIndex, maxIndex);
      if (table === null) continue;
      tables++;
      const m = 20 - table.shift;
      const expected = tableBySlices(lowest, highest, minIndex, m, table.upper);
      expect(expected, `α=${alpha} [${lowest}, ${highest}]`).not.toBeNull();
      expect(table.keys.length).toBe(expected!.length);
      const first = table.keys.findIndex((v, i) => v !== expected![i]);
      expect(first, `α=${alpha} [${lowest}, ${highest}]: first differing slice`).toBe(-1);
    }
    expect(tables).toBe(configs.length);
  });
});
