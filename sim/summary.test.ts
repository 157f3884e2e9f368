import { describe, expect, it } from "vitest";
import { normalCdf, normalQuantile, regularizedGammaP, studentTCdf, studentTQuantile } from "./special.js";
import { summarize, t975 } from "./summary.js";

describe("Student t quantile", () => {
  // Two-sided 95 % critical values, from any statistics table (to 6 decimals).
  it.each([
    [1, 12.706205],
    [2, 4.302653],
    [3, 3.182446],
    [4, 2.776445],
    [5, 2.570582],
    [9, 2.262157],
    [19, 2.093024],
    [29, 2.04523],
    [99, 1.984217],
    [1000, 1.962339],
  ])("t(0.975, %d) = %f", (df, t) => {
    expect(t975(df)).toBeCloseTo(t, 5);
  });

  it("inverts the CDF, in both tails and for fractional df", () => {
    for (const df of [1, 2, 3.5, 7, 30, 200]) {
      for (const p of [0.001, 0.05, 0.3, 0.5, 0.9, 0.995]) {
        expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 10);
      }
    }
    expect(studentTQuantile(0.975, Infinity)).toBeCloseTo(1.959964, 6);
  });
});

describe("normal and gamma functions", () => {
  it("normal quantile and CDF agree with known values and with each other", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 12);
    expect(normalCdf(-1.959963984540054)).toBeCloseTo(0.025, 14);
    expect(normalCdf(-10) / 7.619853024160527e-24).toBeCloseTo(1, 10); // relative accuracy in the tail
    for (const p of [1e-300, 1e-8, 0.2, 0.7, 1 - 1e-9]) expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 9);
  });

  it("regularized gamma: P(1, x) = 1 - e^-x", () => {
    for (const x of [0.1, 1, 5, 30]) expect(regularizedGammaP(1, x)).toBeCloseTo(1 - Math.exp(-x), 14);
  });
});

describe("summarize", () => {
  it("gives the mean, sample sd and the t interval", () => {
    const s = summarize([9.8, 10.4, 10.1, 9.6, 10.6]);
    expect(s.n).toBe(5);
    expect(s.mean).toBeCloseTo(10.1, 12);
    const sd = Math.sqrt(((-0.3) ** 2 + 0.3 ** 2 + 0 + 0.5 ** 2 + 0.5 ** 2) / 4);
    expect(s.sd).toBeCloseTo(sd, 12);
    const half = (2.776445105 * sd) / Math.sqrt(5);
    expect(s.ci95Low).toBeCloseTo(10.1 - half, 8);
    expect(s.ci95High).toBeCloseTo(10.1 + half, 8);
  });

  it("n = 0: NaN; n = 1: the value, with no sd or interval; equal values: a zero-width interval", () => {
    expect(summarize([])).toEqual({ n: 0, mean: NaN, sd: NaN, ci95Low: NaN, ci95High: NaN });
    expect(summarize([3])).toEqual({ n: 1, mean: 3, sd: NaN, ci95Low: NaN, ci95High: NaN });
    expect(summarize([2, 2, 2])).toEqual({ n: 3, mean: 2, sd: 0, ci95Low: 2, ci95High: 2 });
  });

  it("refuses non-finite values", () => {
    expect(() => summarize([1, NaN])).toThrow(RangeError);
    expect(() => summarize([1, Infinity])).toThrow(RangeError);
  });
});
