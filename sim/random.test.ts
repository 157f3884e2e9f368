import { describe, expect, it } from "vitest";
import seedrandom from "seedrandom";
import { sampleCorrelation } from "simple-statistics";
import { InputError } from "./errors.js";
import { ExponentialBlock, RandomStreams, createStream, standardExponential, streamSeed, uniformInt } from "./random.js";
import type { Rng } from "./random.js";

const N = 100_000;
/** |r| of independent samples is below 5/√n except with probability ~6e-7. */
const CORRELATION_BOUND = 5 / Math.sqrt(N);

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.next());
}

describe("RandomStreams", () => {
  it("gives identical draws for the same (seed, replication, name)", () => {
    const a = new RandomStreams(42, 3).get("arrivals/web-users");
    const b = new RandomStreams(42, 3).get("arrivals/web-users");
    expect(draws(a, 1000)).toEqual(draws(b, 1000));
  });

  it("does not let one stream's use shift another's draws", () => {
    const s1 = new RandomStreams(42, 0);
    s1.get("service");
    draws(s1.get("service"), 500);
    const s2 = new RandomStreams(42, 0);
    expect(draws(s1.get("arrivals"), 100)).toEqual(draws(s2.get("arrivals"), 100));
  });

  it("returns the same stream object for the same name", () => {
    const s = new RandomStreams(1, 0);
    expect(s.get("x")).toBe(s.get("x"));
    expect(s.get("x")).not.toBe(s.get("y"));
  });

  it("gives different draws for a different seed, replication or name", () => {
    const base = draws(new RandomStreams(42, 0).get("a"), 100);
    expect(draws(new RandomStreams(43, 0).get("a"), 100)).not.toEqual(base);
    expect(draws(new RandomStreams(42, 1).get("a"), 100)).not.toEqual(base);
    expect(draws(new RandomStreams(42, 0).get("b"), 100)).not.toEqual(base);
    // The parts cannot run together: (1, 23) is not (12, 3).
    expect(draws(createStream(1, 23, "a"), 10)).not.toEqual(draws(createStream(12, 3, "a"), 10));
  });

  it("draws uniformly in [0, 1): mean 1/2 and variance 1/12 within 5 standard errors", () => {
    const x = draws(new RandomStreams(7, 0).get("u"), N);
    expect(x.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
    expect(Math.max(...x)).toBeLessThan(1);
    const mean = x.reduce((s, v) => s + v, 0) / N;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / (N - 1);
    // Var of (U - 1/2)^2 is 1/180, so the sample variance has standard error √(1/180/n).
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / N));
  });

  it("gives uncorrelated streams across names and replications, and no lag-1 correlation", () => {
    const s0 = new RandomStreams(7, 0);
    const s1 = new RandomStreams(7, 1);
    const a = draws(s0.get("arrivals"), N);
    const b = draws(s0.get("service"), N);
    const c = draws(s1.get("arrivals"), N);
    expect(Math.abs(sampleCorrelation(a, b))).toBeLessThan(CORRELATION_BOUND);
    expect(Math.abs(sampleCorrelation(a, c))).toBeLessThan(CORRELATION_BOUND);
    expect(Math.abs(sampleCorrelation(a.slice(1), a.slice(0, -1)))).toBeLessThan(5 / Math.sqrt(N - 1));
  });

  it("draws exactly what seedrandom's Alea draws from the stream's seed", () => {
    for (const [seed, rep, name] of [[42, 3, "arrivals/web-users"], [7, 0, "mm1/service"], [-5, 12, ""]] as const) {
      const ours = createStream(seed, rep, name);
      const theirs = seedrandom.alea(streamSeed(seed, rep, name));
      for (let i = 0; i < 10_000; i++) expect(ours.next()).toBe(theirs());
    }
  });

  it("refuses a seed or replication that is not an integer", () => {
    expect(() => new RandomStreams(1.5, 0)).toThrow(InputError);
    expect(() => new RandomStreams(1, -1)).toThrow(InputError);
    expect(() => new RandomStreams(NaN, 0)).toThrow(InputError);
  });
});

describe("uniformInt", () => {
  it("covers [0, n) evenly: each count within 5 sd of n/k", () => {
    const rng = new RandomStreams(9, 0).get("int");
    const k = 7;
    const counts = new Array<number>(k).fill(0);
    for (let i = 0; i < N; i++) counts[uniformInt(rng, k)]++;
    const p = 1 / k;
    for (const c of counts) expect(Math.abs(c - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
    expect(uniformInt(rng, 1)).toBe(0);
  });

  it("refuses n that is not a positive integer", () => {
    const rng = createStream(1, 0, "x");
    expect(() => uniformInt(rng, 0)).toThrow(RangeError);
    expect(() => uniformInt(rng, 2.5)).toThrow(RangeError);
  });
});

describe("standardExponential (ziggurat)", () => {
  const M = 1_000_000;
  const sample = (seed: number): Float64Array => {
    const rng = createStream(seed, 0, "exp");
    return Float64Array.from({ length: M }, () => standardExponential(rng));
  };

  it("has mean 1 and variance 1 within 5 standard errors", () => {
    const x = sample(1);
    const mean = x.reduce((s, v) => s + v, 0) / M;
    // Var(X) = 1, so the mean's standard error is 1/√M; Var((X-1)^2) = 8, the variance's √(8/M).
    expect(Math.abs(mean - 1)).toBeLessThan(5 / Math.sqrt(M));
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / (M - 1);
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(8 / M));
  });

  it("follows the exponential CDF: Kolmogorov-Smirnov distance below the 0.1 % critical value", () => {
    for (const seed of [2, 3]) {
      const x = sample(seed).sort();
      let d = 0;
      for (let i = 0; i < M; i++) {
        const f = 1 - Math.exp(-x[i]);
        d = Math.max(d, f - i / M, (i + 1) / M - f);
      }
      expect(d).toBeLessThan(1.95 / Math.sqrt(M));
    }
  });

  it("puts the right mass in the tail beyond the base layer (x > 7.697) and in the wedges", () => {
    const x = sample(4);
    // P(X > t) = e^-t: count within 5 sd of M·e^-t, for points in the body, at layer edges and in the tail.
    for (const t of [0.01, 0.5, 1, 2, 3.5, 5, 7.697117470131487, 9, 11]) {
      const p = Math.exp(-t);
      const count = x.reduce((c, v) => c + (v > t ? 1 : 0), 0);
      expect(Math.abs(count - M * p), `t=${t}`).toBeLessThan(5 * Math.sqrt(M * p * (1 - p)) + 1);
    }
    expect(x.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
  });

  it("gives the same draws for the same stream and mostly consumes one uniform per draw", () => {
    const a = createStream(9, 1, "e");
    const b = createStream(9, 1, "e");
    const c = createStream(9, 1, "e");
    for (let i = 0; i < 10_000; i++) expect(standardExponential(a)).toBe(standardExponential(b));
    let used = 0;
    let single = 0;
    const counting = { next: () => (used++, c.next()) };
    for (let i = 0; i < 100_000; i++) {
      const before = used;
      standardExponential(counting);
      if (used === before + 1) single++;
    }
    // 256 layers accept at once with probability 97.78 % (Marsaglia & Tsang's tables).
    expect(Math.abs(single / 100_000 - 0.9778)).toBeLessThan(0.003);
    expect(used / 100_000).toBeLessThan(1.05);
  });
});

describe("ExponentialBlock", () => {
  it("gives exactly the draws standardExponential(rng) * mean gives one by one, across blocks", () => {
    for (const size of [1, 7, 256]) {
      const block = new ExponentialBlock(createStream(3, 0, "gaps"), 2.5e6, size);
      const one = createStream(3, 0, "gaps");
      for (let i = 0; i < 3 * size + 5; i++) expect(block.next()).toBe(standardExponential(one) * 2.5e6);
    }
  });

  it("refuses a size that is not a positive integer", () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      expect(() => new ExponentialBlock(createStream(3, 0, "x"), 1, size)).toThrow(/positive integer/);
    }
  });
});
