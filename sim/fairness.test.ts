import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { coefficientOfVariation, gini, jainIndex, maxOverMean } from "./fairness.js";

describe("jainIndex", () => {
  it("is 1 for equal loads", () => {
    expect(jainIndex([5, 5, 5, 5])).toBe(1);
    expect(jainIndex([0.3])).toBe(1);
  });

  it("is k/n when k of n servers share the load equally and the rest get none", () => {
    for (let n = 1; n <= 12; n++) {
      for (let k = 1; k <= n; k++) {
        const loads = Array.from({ length: n }, (_, i) => (i < k ? 7 : 0));
        expect(jainIndex(loads)).toBeCloseTo(k / n, 14);
      }
    }
  });

  it("lies in [1/n, 1] and does not depend on the scale", () => {
    // Loads are zero or at least 1e-300: a subnormal load times 0.001 rounds to 0 in IEEE
    // arithmetic, which changes the loads themselves (fast-check found [5e-324, 0] × 0.001).
    const load = fc.oneof(fc.constant(0), fc.double({ min: 1e-300, max: 1e6, noNaN: true }));
    fc.assert(
      fc.property(fc.array(load, { minLength: 1, maxLength: 50 }), fc.double({ min: 0.001, max: 1000, noNaN: true }), (loads, scale) => {
        const j = jainIndex(loads);
        expect(j).toBeGreaterThanOrEqual(1 / loads.length - 1e-12);
        expect(j).toBeLessThanOrEqual(1 + 1e-12);
        expect(jainIndex(loads.map((x) => x * scale))).toBeCloseTo(j, 9);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("other indices", () => {
  it("coefficient of variation: population sd over mean", () => {
    expect(coefficientOfVariation([1, 1, 1])).toBe(0);
    expect(coefficientOfVariation([1, 3])).toBe(0.5);
    expect(coefficientOfVariation([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2 / 5);
  });

  it("max over mean: 1 when even, n when one server takes all", () => {
    expect(maxOverMean([3, 3, 3])).toBe(1);
    expect(maxOverMean([0, 0, 0, 8])).toBe(4);
    expect(maxOverMean([1, 2, 3])).toBe(1.5);
  });

  it("Gini: 0 when even, (n-1)/n when one server takes all, the mean absolute difference otherwise", () => {
    expect(gini([4, 4, 4])).toBe(0);
    expect(gini([0, 0, 0, 9])).toBeCloseTo(3 / 4, 14);
    // Σ|xi-xj| over ordered pairs for [1,2,3] is 8; / (2·n²·mean) = 8 / (2·9·2).
    expect(gini([3, 1, 2])).toBeCloseTo(8 / 36, 14);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 30 }), (loads) => {
        const n = loads.length;
        const mean = loads.reduce((s, x) => s + x, 0) / n;
        if (mean === 0) return;
        let diff = 0;
        for (const a of loads) for (const b of loads) diff += Math.abs(a - b);
        expect(gini(loads)).toBeCloseTo(diff / (2 * n * n * mean), 10);
      }),
    );
  });

  it("edge cases: empty is NaN; all zero counts as even", () => {
    for (const f of [jainIndex, coefficientOfVariation, maxOverMean, gini]) expect(f([])).toBeNaN();
    expect(jainIndex([0, 0])).toBe(1);
    expect(coefficientOfVariation([0, 0])).toBe(0);
    expect(maxOverMean([0, 0])).toBe(1);
    expect(gini([0, 0])).toBe(0);
  });

  it("refuses negative or non-finite loads", () => {
    for (const f of [jainIndex, coefficientOfVariation, maxOverMean, gini]) {
      expect(() => f([1, -1])).toThrow(RangeError);
      expect(() => f([1, NaN])).toThrow(RangeError);
      expect(() => f([1, Infinity])).toThrow(RangeError);
    }
  });

  it("accepts typed arrays", () => {
    expect(jainIndex(new Float64Array([2, 2, 0, 0]))).toBe(0.5);
  });
});

describe("jainIndex with extreme magnitudes", () => {
  it("does not underflow for tiny loads (found by fast-check: [6.46e-165, 0])", () => {
    expect(jainIndex([6.46e-165, 0])).toBeCloseTo(0.5, 12);
    expect(jainIndex([1e-300, 1e-300, 1e-300])).toBeCloseTo(1, 12);
    expect(jainIndex([1e300, 1e300])).toBeCloseTo(1, 12);
  });
});
