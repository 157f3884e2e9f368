/**
 * mm1: the engine against queueing theory. An M/M/c queue (Poisson arrivals, exponential
 * service, c servers, FIFO), simulated customer by customer on the event kernel, next to the
 * exact Erlang C values. If these disagree, no other number svcsim prints can be trusted.
 */
import { InputError } from "../sim/errors.js";
import { Simulation } from "../sim/engine.js";
import { LogHistogram } from "../sim/stats.js";
import { mmcMeanSojourn, mmcMeanWait } from "../sim/queueing.js";
import { NS_PER_S } from "../sim/time.js";
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";

export interface MmcParams {
  lambda: number;
  mu: number;
  servers: number;
  customers: number;
  /** Customers discarded at the start (the empty queue's transient). */
  warmup: number;
}

function paramsOf(config: Config): MmcParams {
  return {
    lambda: Number(config.lambda),
    mu: Number(config.mu),
    servers: Number(config.servers),
    customers: Number(config.customers),
    warmup: Number(config.warmup),
  };
}

/** Simulates one replication; times in the result are in seconds. */
export function simulateMmc(p: MmcParams, ctx: Pick<RunContext, "streams">): Metrics {
  const arrivals = ctx.streams.get("mm1/arrivals");
  const services = ctx.streams.get("mm1/service");
  const meanGapNs = NS_PER_S / p.lambda;
  const meanServiceNs = NS_PER_S / p.mu;
  const sim = new Simulation();

  // Waiting customers' arrival times, a growable ring buffer (no per-customer objects).
  let queue = new Float64Array(1024);
  let head = 0;
  let size = 0;
  let busy = 0;
  let arrived = 0;
  let completed = 0;
  let measured = 0;
  let sojournSum = 0;
  let waitSum = 0;
  let started = 0;
  let waited = 0;
  let serviceSum = 0;
  let measureFrom = 0;
  const sojourns = new LogHistogram();

  const startService = (arrivalTime: number): void => {
    const service = Math.round(-Math.log(1 - services.next()) * meanServiceNs);
    serviceSum += service;
    // FIFO: services start in arrival order, so `started` counts customers by arrival.
    if (++started > p.warmup) {
      waitSum += sim.now - arrivalTime;
      waited++;
    }
    sim.schedule(service, departure, arrivalTime);
  };

  const arrival = sim.on(() => {
    const now = sim.now;
    arrived++;
    if (arrived === p.warmup + 1) measureFrom = now;
    if (busy < p.servers) {
      busy++;
      startService(now);
    } else {
      if (size === queue.length) {
        const bigger = new Float64Array(queue.length * 2);
        for (let i = 0; i < size; i++) bigger[i] = queue[(head + i) % queue.length];
        queue = bigger;
        head = 0;
      }
      queue[(head + size) % queue.length] = now;
      size++;
    }
    if (arrived < p.customers) sim.schedule(Math.round(-Math.log(1 - arrivals.next()) * meanGapNs), arrival);
  });

  const departure = sim.on((arrivalTime: number) => {
    completed++;
    if (completed > p.warmup) {
      const sojourn = sim.now - arrivalTime;
      sojournSum += sojourn;
      sojourns.record(sojourn / NS_PER_S);
      measured++;
    }
    if (size > 0) {
      const next = queue[head];
      head = (head + 1) % queue.length;
      size--;
      startService(next);
    } else {
      busy--;
    }
  });

  sim.schedule(Math.round(-Math.log(1 - arrivals.next()) * meanGapNs), arrival);
  sim.run();
  // Sojourns are counted in order of departure; with c > 1 servers that order differs a little
  // from arrival order, so the warm-up cut may differ by a few customers: negligible.
  const elapsed = (sim.now - measureFrom) / NS_PER_S;
  return {
    mean_sojourn_s: sojournSum / measured / NS_PER_S,
    mean_wait_s: waitSum / waited / NS_PER_S,
    p99_sojourn_s: sojourns.quantile(0.99),
    utilization: serviceSum / NS_PER_S / (p.servers * (sim.now / NS_PER_S)),
    customers: measured,
    simulated_time_s: elapsed,
  };
}

export const mm1: ExperimentDefinition = {
  name: "mm1",
  question: "Does the event engine reproduce queueing theory? (M/M/c sojourn vs Erlang C)",
  params: {
    lambda: { description: "arrival rate (1/s)", kind: "number", default: 0.9, min: 0, exclusiveMin: true },
    mu: { description: "service rate per server (1/s)", kind: "number", default: 1, min: 0, exclusiveMin: true },
    servers: { description: "servers (c)", kind: "integer", default: 1, min: 1, max: 100_000 },
    customers: { description: "customers per replication", kind: "integer", default: 200_000, min: 1, max: 1e9 },
    warmup: { description: "customers discarded at the start", kind: "integer", default: 1000, min: 0 },
  },
  quick: { customers: 50_000 },
  replications: { full: 5, quick: 3 },
  validate(config) {
    const p = paramsOf(config);
    if (p.lambda >= p.servers * p.mu) {
      throw new InputError("the queue is unstable: it grows without bound", {
        fieldPath: "--set lambda",
        expected: `lambda < servers × mu = ${p.servers * p.mu}`,
        found: String(p.lambda),
      });
    }
    if (p.warmup >= p.customers) {
      throw new InputError("no customer left to measure", { fieldPath: "--set warmup", expected: `< customers (${p.customers})`, found: String(p.warmup) });
    }
  },
  run: (config, ctx) => simulateMmc(paramsOf(config), ctx),
  reference(config) {
    const p = paramsOf(config);
    return {
      analytic_mean_sojourn_s: mmcMeanSojourn(p.lambda, p.mu, p.servers),
      analytic_mean_wait_s: mmcMeanWait(p.lambda, p.mu, p.servers),
      analytic_utilization: p.lambda / (p.servers * p.mu),
    };
  },
};
