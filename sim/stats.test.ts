import { describe, expect, it } from "vitest";
import { sampleVariance } from "simple-statistics";
import { createStream } from "./random.js";
import { TimeWeighted, Welford } from "./stats.js";

describe("Welford", () => {
  it("matches the two-pass mean and sample variance, even far from zero", () => {
    const rng = createStream(1, 0, "w");
    const xs = Array.from({ length: 10_000 }, () => 1e9 + rng.next());
    const w = new Welford();
    for (const x of xs) w.add(x);
    // Reference mean without the cancellation a plain sum of 1e9-sized values suffers.
    const mean = 1e9 + xs.reduce((s, x) => s + (x - 1e9), 0) / xs.length;
    expect(w.count).toBe(10_000);
    expect(w.mean).toBeCloseTo(mean, 5); // a few ulps at 1e9
    // At 1e9 a double keeps ~7 digits of the fraction: agree to 1e-6, where the textbook
    // sum-of-squares formula would have lost everything to cancellation.
    const ref = sampleVariance(xs);
    expect(Math.abs(w.variance - ref) / ref).toBeLessThan(1e-6);
    expect(Math.abs(w.stddev - Math.sqrt(ref)) / Math.sqrt(ref)).toBeLessThan(1e-6);
    expect(w.min).toBe(Math.min(...xs));
    expect(w.max).toBe(Math.max(...xs));
  });

  it("merging equals adding everything to one", () => {
    const rng = createStream(2, 0, "w");
    const all = new Welford();
    const parts = [new Welford(), new Welford(), new Welford()];
    for (let i = 0; i < 3000; i++) {
      const x = rng.next() * (i % 3 === 0 ? 10 : 1);
      all.add(x);
      parts[i % 3].add(x);
    }
    const merged = new Welford().merge(parts[0]).merge(parts[1]).merge(parts[2]).merge(new Welford());
    expect(merged.count).toBe(all.count);
    expect(merged.mean).toBeCloseTo(all.mean, 12);
    expect(merged.variance).toBeCloseTo(all.variance, 12);
    expect(merged.min).toBe(all.min);
    expect(merged.max).toBe(all.max);
    const copy = Welford.fromJSON(JSON.parse(JSON.stringify(merged.toJSON())));
    expect(copy.variance).toBe(merged.variance);
  });

  it("is NaN when empty, and has no sample variance with one value", () => {
    const w = new Welford();
    expect(w.mean).toBeNaN();
    expect(w.min).toBeNaN();
    w.add(5);
    expect(w.mean).toBe(5);
    expect(w.variance).toBeNaN();
    expect(w.populationVariance).toBe(0);
  });
});

describe("TimeWeighted", () => {
  it("averages a piecewise-constant value over time", () => {
    const q = new TimeWeighted(0, 0);
    q.update(10, 2); // 0 over [0,10)
    q.update(20, 4); // 2 over [10,20)
    q.add(30, -4); // 4 over [20,30), then 0
    expect(q.value).toBe(0);
    expect(q.integral(40)).toBe(60);
    expect(q.mean(40)).toBe(1.5);
    expect(q.mean(30)).toBe(2);
  });

  it("restarts its window on reset (warm-up), keeping the current value", () => {
    const busy = new TimeWeighted();
    busy.update(100, 1);
    busy.reset(150);
    busy.update(200, 0);
    expect(busy.mean(250)).toBe(0.5);
    const fresh = new TimeWeighted(0, 3);
    expect(fresh.mean(0)).toBe(3); // an empty window reports the current value
  });

  it("refuses time going backwards", () => {
    const t = new TimeWeighted(10);
    expect(() => t.update(5, 1)).toThrow(RangeError);
    t.update(20, 1);
    expect(() => t.mean(15)).toThrow(RangeError);
  });
});
