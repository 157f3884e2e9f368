import { describe, expect, it } from "vitest";
import { Simulation } from "./engine.js";
import { erlangC, mmcMeanQueueLength, mmcMeanSojourn, mmcMeanWait, mmcUtilization } from "./queueing.js";
import { RandomStreams, standardExponential, type Rng } from "./random.js";
import { summarize } from "./summary.js";
import { TimeWeighted } from "./stats.js";
import { NS_PER_S } from "./time.js";

describe("M/M/c formulas", () => {
  it("M/M/1, λ = 0.9, μ = 1: W = 1/(μ-λ) = 10, Wq = 9, C = ρ", () => {
    expect(mmcMeanSojourn(0.9, 1, 1)).toBeCloseTo(10, 12);
    expect(mmcMeanWait(0.9, 1, 1)).toBeCloseTo(9, 12);
    expect(erlangC(0.9, 1, 1)).toBeCloseTo(0.9, 14);
  });

  it("M/M/4, λ = 3.6, μ = 1: W = 2.9694", () => {
    expect(mmcMeanSojourn(3.6, 1, 4)).toBeCloseTo(2.9694, 4);
    expect(mmcUtilization(3.6, 1, 4)).toBeCloseTo(0.9, 14);
    expect(mmcMeanQueueLength(3.6, 1, 4)).toBeCloseTo(3.6 * (2.9694 - 1), 3);
  });

  it("matches the textbook factorial formula of Erlang C", () => {
    const direct = (a: number, c: number): number => {
      let sum = 0;
      let term = 1;
      for (let k = 0; k < c; k++) {
        sum += term;
        term *= a / (k + 1);
      }
      const top = (term * c) / (c - a); // a^c/c! · c/(c-a)
      return top / (sum + top);
    };
    for (const [a, c] of [
      [0.5, 1],
      [1.5, 2],
      [3.6, 4],
      [8, 10],
      [45, 50],
    ]) {
      expect(erlangC(a, 1, c)).toBeCloseTo(direct(a, c), 12);
    }
  });

  it("unstable and degenerate queues", () => {
    expect(erlangC(2, 1, 2)).toBe(1);
    expect(mmcMeanSojourn(2, 1, 2)).toBe(Infinity);
    expect(mmcMeanSojourn(0, 2, 3)).toBe(0.5);
    expect(() => erlangC(1, 0, 1)).toThrow(RangeError);
    expect(() => erlangC(1, 1, 0)).toThrow(RangeError);
    expect(() => erlangC(-1, 1, 1)).toThrow(RangeError);
  });
});

interface MmcRun {
  meanSojourn: number;
  utilization: number;
}

/**
 * An M/M/c FIFO queue on the engine, in seconds: `customers` arrivals, the first `warmup`
 * departures discarded (the queue starts empty, below its steady state).
 */
type ExponentialDraw = (rng: Rng, mean: number) => number;
const byInversion: ExponentialDraw = (rng, mean) => -mean * Math.log(1 - rng.next());
const byZiggurat: ExponentialDraw = (rng, mean) => mean * standardExponential(rng);

function simulateMmc(
  lambda: number,
  mu: number,
  c: number,
  customers: number,
  warmup: number,
  seed: number,
  replication: number,
  exponential: ExponentialDraw = byInversion,
): MmcRun {
  const sim = new Simulation();
  const streams = new RandomStreams(seed, replication);
  const arrivalRng = streams.get("arrivals");
  const serviceRng = streams.get("service");
  const meanGap = NS_PER_S / lambda;
  const meanService = NS_PER_S / mu;
  const waiting = new Float64Array(customers); // arrival times, FIFO: each customer queues at most once
  let head = 0;
  let tail = 0;
  let busy = 0;
  let arrived = 0;
  let departed = 0;
  let sojournSum = 0;
  let measured = 0;
  const busyServers = new TimeWeighted(0, 0);
  let measureFrom = 0;

  const serviceTime = (): number => exponential(serviceRng, meanService);
  const depart = sim.on((arrivalTime) => {
    departed++;
    if (departed === warmup) {
      measureFrom = sim.now;
      busyServers.reset(sim.now);
    } else if (departed > warmup) {
      sojournSum += sim.now - arrivalTime;
      measured++;
    }
    if (head < tail) sim.schedule(serviceTime(), depart, waiting[head++]);
    else busyServers.update(sim.now, --busy);
  });
  const arrive = sim.on(() => {
    if (busy < c) {
      busyServers.update(sim.now, ++busy);
      sim.schedule(serviceTime(), depart, sim.now);
    } else {
      waiting[tail++] = sim.now;
    }
    if (++arrived < customers) sim.schedule(exponential(arrivalRng, meanGap), arrive);
  });
  sim.schedule(exponential(arrivalRng, meanGap), arrive);
  sim.run();
  expect(departed).toBe(customers);
  expect(sim.now).toBeGreaterThan(measureFrom);
  return { meanSojourn: sojournSum / measured / NS_PER_S, utilization: busyServers.mean(sim.now) / c };
}

describe("end to end: the engine and streams reproduce M/M/c theory", () => {
  const REPLICATIONS = 5;
  const CUSTOMERS = 200_000;
  const WARMUP = 2_000;
  const SEED = 7;

  it.each([
    ["M/M/1", 0.9, 1, 1, "inversion"],
    ["M/M/4", 3.6, 1, 4, "inversion"],
    ["M/M/1", 0.9, 1, 1, "the ziggurat"],
    ["M/M/4", 3.6, 1, 4, "the ziggurat"],
  ] as const)("%s (λ=%f, μ=%f, c=%d), exponentials by %s: the 95 % CI of the mean sojourn covers the analytic W", (_name, lambda, mu, c, how) => {
    const exponential = how === "inversion" ? byInversion : byZiggurat;
    const runs = Array.from({ length: REPLICATIONS }, (_, r) => simulateMmc(lambda, mu, c, CUSTOMERS, WARMUP, SEED, r, exponential));
    const sojourn = summarize(runs.map((r) => r.meanSojourn));
    const w = mmcMeanSojourn(lambda, mu, c);
    expect(sojourn.ci95Low).toBeLessThanOrEqual(w);
    expect(sojourn.ci95High).toBeGreaterThanOrEqual(w);
    const utilization = summarize(runs.map((r) => r.utilization));
    const rho = mmcUtilization(lambda, mu, c);
    expect(utilization.ci95Low).toBeLessThanOrEqual(rho);
    expect(utilization.ci95High).toBeGreaterThanOrEqual(rho);
  });

  it("is reproducible: the same seed and replication give the same result", () => {
    const a = simulateMmc(0.9, 1, 1, 20_000, 0, 3, 1);
    const b = simulateMmc(0.9, 1, 1, 20_000, 0, 3, 1);
    expect(a).toEqual(b);
    expect(simulateMmc(0.9, 1, 1, 20_000, 0, 3, 2)).not.toEqual(a);
  });
});
