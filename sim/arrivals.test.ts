import { describe, expect, it } from "vitest";
import { ConstantArrivals, OnOffArrivals, PoissonArrivals, parseArrival, parseRate } from "./arrivals.js";
import type { ArrivalProcess } from "./arrivals.js";
import { InputError } from "./errors.js";
import { createStream } from "./random.js";
import { NS_PER_S } from "./time.js";

const N = 200_000;
const Z = 5;

function gapStats(a: ArrivalProcess, name: string, first = false): { mean: number; sd: number; min: number; max: number } {
  const rng = createStream(11, 0, name);
  let sum = 0;
  let sq = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < N; i++) {
    const g = first ? a.firstGap(rng) : a.nextGap(rng);
    sum += g;
    sq += g * g;
    if (g < min) min = g;
    if (g > max) max = g;
  }
  const mean = sum / N;
  return { mean, sd: Math.sqrt((sq - N * mean * mean) / (N - 1)), min, max };
}

describe("parseRate", () => {
  it.each([
    ["500/s", 500],
    ["2/ms", 2000],
    ["30/m", 0.5],
    ["30/min", 0.5],
    ["3600/h", 1],
    ["1/us", 1e6],
    ["0.5 / s", 0.5],
  ])("reads %s", (text, perSecond) => expect(parseRate(text)).toBeCloseTo(perSecond, 9));

  it.each(["500", "-5/s", "0/s", "5/fortnight", "/s", ""])("rejects %j", (text) => {
    expect(() => parseRate(text, "rate")).toThrow(InputError);
  });
});

describe("parseArrival", () => {
  it("reads poisson, const and onoff", () => {
    const p = parseArrival("poisson(500/s)");
    expect(p).toBeInstanceOf(PoissonArrivals);
    expect(p.kind).toBe("poisson");
    expect(p.ratePerSecond).toBe(500);
    expect(parseArrival("poisson(rate=2/ms)").ratePerSecond).toBe(2000);
    const c = parseArrival(" const( 200/s ) ");
    expect(c).toBeInstanceOf(ConstantArrivals);
    expect(c.nextGap(createStream(1, 0, "x"))).toBe(NS_PER_S / 200);
    const o = parseArrival("onoff(rate=1000/s,on=1s,off=4s)");
    expect(o).toBeInstanceOf(OnOffArrivals);
    if (o.kind !== "onoff") throw new Error("narrowing");
    expect(o.onRatePerSecond).toBe(1000);
    expect(o.ratePerSecond).toBe(200); // long-run average: on 1 s in 5
    expect(o.on).toBe(NS_PER_S);
    expect(o.off).toBe(4 * NS_PER_S);
    for (const text of ["poisson(500/s)", "const(200/s)", "onoff(rate=1000/s,on=1s,off=4s)", "poisson(30/m)"]) {
      expect(parseArrival(text).text).toBe(text);
    }
    expect(parseArrival("onoff(1000/s,1s,4s)").text).toBe("onoff(rate=1000/s,on=1s,off=4s)");
  });

  it.each([
    ["poisson(500)", "500"],
    ["poisson(0/s)", "0/s"],
    ["poisson()", "poisson()"],
    ["poisson(1/s,2/s)", "2/s"],
    ["poisson(rate=1/s,burst=3)", "burst"],
    ["bursty(5/s)", "bursty(5/s)"],
    ["500/s", "500/s"],
    ["onoff(rate=1000/s,on=1s)", "onoff(rate=1000/s,on=1s)"],
    ["onoff(rate=1000/s,on=0s,off=4s)", "on=0"],
    ["onoff(rate=1000/s,on=1,off=4s)", "on=1"],
  ])("rejects %j with field, expected and found", (text, found) => {
    try {
      parseArrival(text, "spec.clients[0].arrival");
      expect.fail("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      const err = e as InputError;
      expect(err.fieldPath).toBe("spec.clients[0].arrival");
      expect(err.expected).toBeTruthy();
      expect(err.found).toBe(found);
    }
  });
});

describe("arrival gaps", () => {
  it("poisson: exponential gaps with mean and sd 1/rate", () => {
    const a = new PoissonArrivals(500);
    const s = gapStats(a, "p");
    const mean = NS_PER_S / 500;
    expect(Math.abs(s.mean - mean)).toBeLessThan((Z * mean) / Math.sqrt(N));
    expect(Math.abs(s.sd - mean) / mean).toBeLessThan(0.02);
    expect(s.min).toBeGreaterThanOrEqual(0);
  });

  it("const: a fixed period, and a first gap uniform over (0, period]", () => {
    const a = new ConstantArrivals(200);
    const period = NS_PER_S / 200;
    const first = gapStats(a, "c", true);
    expect(first.min).toBeGreaterThan(0);
    expect(first.max).toBeLessThanOrEqual(period);
    expect(Math.abs(first.mean - period / 2)).toBeLessThan((Z * period) / Math.sqrt(12 * N));
  });

  it("onoff: the long-run mean gap is 1/ratePerSecond, and gaps are burstier than Poisson", () => {
    const a = new OnOffArrivals(1000, NS_PER_S / 10, (4 * NS_PER_S) / 10);
    const s = gapStats(a, "o");
    const mean = NS_PER_S / a.ratePerSecond;
    expect(Math.abs(s.mean - mean)).toBeLessThan((Z * s.sd) / Math.sqrt(N));
    expect(s.sd / s.mean).toBeGreaterThan(1.5); // a Poisson process would give 1
    const first = gapStats(a, "o1", true);
    expect(first.mean).toBeGreaterThan(s.mean); // may start in an off period
  });
});
