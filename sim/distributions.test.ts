import { describe, expect, it } from "vitest";
import { InputError } from "./errors.js";
import {
  Constant,
  Empirical,
  Erlang,
  Exponential,
  Gamma,
  Lognormal,
  Normal,
  Pareto,
  Uniform,
  Weibull,
  paretoByMean,
  parseDistribution,
} from "./distributions.js";
import type { Distribution } from "./distributions.js";
import { createStream } from "./random.js";
import { NS_PER_MS, NS_PER_S } from "./time.js";

const ms = NS_PER_MS;
const N = 200_000;
/** Sample moments must lie within Z standard errors of theory (a false alarm ~6e-7 per check). */
const Z = 5;

interface Moments {
  n: number;
  mean: number;
  variance: number;
  /** Standard error of the sample variance, from the sample's fourth central moment. */
  varianceSE: number;
  min: number;
}

function sampleMoments(d: Distribution, n: number, name: string): Moments {
  const rng = createStream(20240601, 0, name);
  const x = new Float64Array(n);
  let sum = 0;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const v = d.sample(rng);
    x[i] = v;
    sum += v;
    if (v < min) min = v;
  }
  const mean = sum / n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const dev = x[i] - mean;
    m2 += dev * dev;
    m4 += dev * dev * dev * dev;
  }
  const variance = m2 / (n - 1);
  return { n, mean, variance, varianceSE: Math.sqrt(Math.max(0, m4 / n - variance * variance) / n), min };
}

function expectMoments(d: Distribution, name: string, opts: { n?: number; checkVariance?: boolean; nonNegative?: boolean } = {}): void {
  const m = sampleMoments(d, opts.n ?? N, name);
  const meanSE = Math.sqrt(d.variance / m.n);
  expect(Math.abs(m.mean - d.mean), `${name}: mean ${m.mean} vs ${d.mean}`).toBeLessThanOrEqual(Z * meanSE + 1e-9 * Math.abs(d.mean));
  if (opts.checkVariance ?? true) {
    expect(Math.abs(m.variance - d.variance), `${name}: variance ${m.variance} vs ${d.variance}`).toBeLessThanOrEqual(
      Z * m.varianceSE + 1e-9 * d.variance,
    );
  }
  if (opts.nonNegative ?? true) expect(m.min).toBeGreaterThanOrEqual(0);
}

describe("distributions: sample mean and variance match theory", () => {
  const cases: Array<[string, Distribution, { n?: number; checkVariance?: boolean; nonNegative?: boolean }?]> = [
    ["exp(2ms)", new Exponential(2 * ms)],
    ["uniform(1ms,3ms)", new Uniform(1 * ms, 3 * ms)],
    ["normal(2ms,0.5ms) truncated", new Normal(2 * ms, 0.5 * ms, true)],
    ["normal(1ms,2ms) truncated (heavily)", new Normal(1 * ms, 2 * ms, true)],
    ["normal(0,1) untruncated", new Normal(0, 1), { nonNegative: false }],
    ["lognormal(2ms,cv=1.5)", new Lognormal(2 * ms, 1.5)],
    ["lognormal(2ms,cv=0.3)", new Lognormal(2 * ms, 0.3)],
    ["gamma(shape=2,mean=2ms)", new Gamma(2, 2 * ms)],
    ["gamma(shape=0.5,mean=1ms)", new Gamma(0.5, 1 * ms)],
    ["erlang(k=3,mean=3ms)", new Erlang(3, 3 * ms)],
    ["erlang(k=1000,mean=1s)", new Erlang(1000, NS_PER_S), { n: 20_000 }],
    ["pareto(alpha=1.5,min=1ms,max=1s)", new Pareto(1.5, 1 * ms, NS_PER_S)],
    ["pareto(alpha=1,min=1ms,max=100ms)", new Pareto(1, 1 * ms, 100 * ms)],
    ["pareto(alpha=2,min=1ms,max=100ms)", new Pareto(2, 1 * ms, 100 * ms)],
    // Unbounded with alpha = 2.5: finite variance (so the mean's standard error exists) but an
    // infinite fourth moment, so the sample variance has no standard error to test against.
    ["pareto(alpha=2.5,mean=2ms)", paretoByMean(2.5, 2 * ms), { checkVariance: false }],
    ["weibull(shape=1.5,scale=2ms)", new Weibull(1.5, 2 * ms)],
    ["weibull(shape=0.7,scale=1ms)", new Weibull(0.7, 1 * ms)],
    ["empirical(1ms,2ms,5ms)", new Empirical([1 * ms, 2 * ms, 5 * ms])],
    ["empirical weighted", new Empirical([1 * ms, 2 * ms, 5 * ms], [3, 0, 1])],
  ];
  it.each(cases)("%s", (name, d, opts) => expectMoments(d, name, opts));

  it("const always returns its value", () => {
    const d = new Constant(3 * ms);
    const rng = createStream(1, 0, "c");
    for (let i = 0; i < 10; i++) expect(d.sample(rng)).toBe(3 * ms);
    expect(d.mean).toBe(3 * ms);
    expect(d.variance).toBe(0);
  });

  it("knows the closed forms it is tested against", () => {
    expect(new Exponential(2).variance).toBe(4);
    expect(new Uniform(1, 3).variance).toBeCloseTo(1 / 3, 12);
    expect(new Lognormal(2, 1.5).variance).toBeCloseTo(9, 12);
    expect(new Gamma(2, 2).variance).toBeCloseTo(2, 12);
    expect(new Erlang(3, 3).variance).toBeCloseTo(3, 12);
    expect(new Weibull(1, 2).mean).toBeCloseTo(2, 12); // shape 1 is the exponential
    expect(new Weibull(1, 2).variance).toBeCloseTo(4, 10);
    expect(new Weibull(2, 1).mean).toBeCloseTo(Math.sqrt(Math.PI) / 2, 12);
    expect(new Pareto(3, 1).mean).toBeCloseTo(1.5, 12);
    expect(new Pareto(3, 1).variance).toBeCloseTo(0.75, 12);
    expect(new Pareto(2, 1).variance).toBe(Infinity);
    // Bounded, alpha = 1: mean = H·L·ln(H/L)/(H-L).
    expect(new Pareto(1, 1, 100).mean).toBeCloseTo((100 * Math.log(100)) / 99, 12);
    // Truncation at 0 of N(0, 1): the half-normal, mean √(2/π), variance 1 - 2/π.
    expect(new Normal(0, 1, true).mean).toBeCloseTo(Math.sqrt(2 / Math.PI), 12);
    expect(new Normal(0, 1, true).variance).toBeCloseTo(1 - 2 / Math.PI, 12);
    expect(new Empirical([1, 2, 5], [3, 0, 1]).mean).toBe(2);
  });

  it("samples by inversion where it can: the same draws scale with the mean (common random numbers)", () => {
    const a = createStream(5, 0, "crn");
    const b = createStream(5, 0, "crn");
    const one = new Exponential(1 * ms);
    const two = new Exponential(2 * ms);
    for (let i = 0; i < 100; i++) expect(two.sample(b)).toBeCloseTo(2 * one.sample(a), 6);
  });
});

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error("expected an InputError");
}

describe("parseDistribution", () => {
  it.each([
    ["const(1ms)", new Constant(1 * ms)],
    ["exp(2ms)", new Exponential(2 * ms)],
    ["exponential(mean=2ms)", new Exponential(2 * ms)],
    ["uniform(1ms,3ms)", new Uniform(1 * ms, 3 * ms)],
    ["uniform(min=1ms, max=3ms)", new Uniform(1 * ms, 3 * ms)],
    ["normal(mean=2ms,sd=0.5ms)", new Normal(2 * ms, 0.5 * ms, true)],
    ["normal(2ms, 500us)", new Normal(2 * ms, 0.5 * ms, true)],
    ["lognormal(mean=2ms,cv=1.5)", new Lognormal(2 * ms, 1.5)],
    ["gamma(shape=2,mean=2ms)", new Gamma(2, 2 * ms)],
    ["erlang(k=3,mean=3ms)", new Erlang(3, 3 * ms)],
    ["pareto(alpha=1.5,min=1ms,max=1s)", new Pareto(1.5, 1 * ms, NS_PER_S)],
    ["pareto(alpha=2.5,min=1ms)", new Pareto(2.5, 1 * ms)],
    ["pareto(mean=2ms,alpha=2.5)", paretoByMean(2.5, 2 * ms)],
    ["weibull(shape=1.5,scale=2ms)", new Weibull(1.5, 2 * ms)],
    ["empirical(1ms,2ms,5ms)", new Empirical([1 * ms, 2 * ms, 5 * ms])],
    ["empirical(1ms:3, 5ms:1)", new Empirical([1 * ms, 5 * ms], [3, 1])],
    ["2ms", new Constant(2 * ms)],
    [" 1m30s ", new Constant(90 * NS_PER_S)],
    ["EXP( 2ms )", new Exponential(2 * ms)],
  ])("reads %s", (text, want) => {
    const d = parseDistribution(text);
    expect(d.constructor).toBe(want.constructor);
    expect(d.mean).toBe(want.mean);
    expect(d.variance).toBe(want.variance);
    expect(d.text).toBe(want.text);
    // The text form reads back to the same distribution.
    expect(parseDistribution(d.text).text).toBe(d.text);
  });

  it("truncates normal at zero: a time cannot be negative", () => {
    const d = parseDistribution("normal(mean=1ms,sd=2ms)");
    const rng = createStream(3, 0, "n");
    for (let i = 0; i < 10_000; i++) expect(d.sample(rng)).toBeGreaterThanOrEqual(0);
    expect(d.mean).toBeGreaterThan(1 * ms);
  });

  it.each([
    ["exp(2)", "mean=2"], // times need units
    ["exp(-2ms)", "mean=-2ms"],
    ["exp(2ms", "exp(2ms"],
    ["foo(1ms)", "foo(1ms)"],
    ["", '""'],
    ["2 parsecs", "2 parsecs"],
    ["lognormal(mean=2ms,cv=-1)", "cv=-1"],
    ["lognormal(mean=0s,cv=1)", "mean=0"],
    ["lognormal(mean=2ms)", "mean=2ms"],
    ["gamma(shape=2ms,mean=1ms)", "shape=2ms"],
    ["gamma(shape=0,mean=1ms)", "shape=0"],
    ["erlang(k=2.5,mean=1ms)", "k=2.5"],
    ["uniform(3ms,1ms)", "min=3ms,max=1ms"],
    ["pareto(alpha=1.5,min=2ms,max=1ms)", "min=2ms,max=1ms"],
    ["pareto(alpha=1,mean=2ms)", "alpha=1"],
    ["pareto(alpha=0.8,min=1ms)", "alpha=0.8"],
    ["pareto(alpha=2,mean=2ms,min=1ms)", "mean with min/max"],
    ["weibull(shape=-1,scale=1ms)", "shape=-1"],
    ["exp(mean=1ms,sd=2ms)", "sd=2ms"],
    ["exp(1ms,2ms)", "2ms"],
    ["exp(mean=1ms,mean=2ms)", "mean=2ms"],
    ["uniform(min=1ms,3ms)", "3ms"],
    ["empirical()", "no values"],
    ["empirical(1ms:1,2ms)", "1ms:1,2ms"],
    ["empirical(1ms:0,2ms:0)", "all zero"],
  ])("rejects %j, saying where, what was expected and what was found", (text, found) => {
    const e = inputError(() => parseDistribution(text, "spec.template.metadata.annotations.svcsim.dev/service-time"));
    expect(e.fieldPath).toBe("spec.template.metadata.annotations.svcsim.dev/service-time");
    expect(e.expected).toBeTruthy();
    expect(e.found).toBe(found);
    expect(e.format()).not.toMatch(/\n/);
  });
});
