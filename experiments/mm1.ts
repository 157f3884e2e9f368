/**
 * mm1: the engine against queueing theory. An M/M/c queue (Poisson arrivals, exponential
 * service, c servers, FIFO), simulated customer by customer on the event kernel, next to the
 * exact Erlang C values. If these disagree, no other number svcsim prints can be trusted.
 */
import { InputError } from "../sim/errors.js";
import { Simulation, type HandlerId } from "../sim/engine.js";
import { ExponentialBlock, type RandomStreams } from "../sim/random.js";
import { LogHistogram } from "../sim/stats.js";
import { mmcMeanSojourn, mmcMeanWait } from "../sim/queueing.js";
import { NS_PER_S } from "../sim/time.js";
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { summaryValue } from "./rows.js";
import { mm1Charts } from "./charts.js";

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

/**
 * One replication of the M/M/c queue. The state lives in fields of one object rather than in
 * variables captured by closures (V8 keeps double fields unboxed, where a captured `let` that
 * changes would allocate a heap number on every update), and events carry a server's index,
 * a small integer, rather than a time: a double argument would be boxed at every call.
 *
 * The handlers are arrow-function fields registered as they are, not closures that call a
 * method: V8 inlines what a handler calls (draws, schedule, record) within a budget of
 * bytecode, and the handler's own body does not count against it (4 % faster). Exponential
 * times come from the ziggurat (standardExponential), not inversion: no log per draw, and a
 * block at a time (ExponentialBlock), each of the two from a stream of its own.
 */
class MmcModel {
  private readonly sim = new Simulation();
  private readonly gaps: ExponentialBlock;
  private readonly services: ExponentialBlock;
  /**
   * Waiting customers' arrival times: a growable ring buffer (no per-customer objects). Its
   * length is a power of two, so positions wrap with a mask rather than a division.
   */
  private queue = new Float64Array(1024);
  private head = 0;
  private size = 0;
  /** Arrival time of the customer each server is serving; idle servers are a stack. */
  private readonly inService: Float64Array;
  private readonly idleServers: Int32Array;
  private idleCount: number;
  /** p.warmup and p.customers, read on every event: fields of this object, one load each. */
  private readonly warmup: number;
  private readonly customers: number;
  private arrived = 0;
  private started = 0;
  private completed = 0;
  private waited = 0;
  private measured = 0;
  private sojournSum = 0;
  private waitSum = 0;
  private serviceSum = 0;
  private measureFrom = 0;
  private readonly sojourns = new LogHistogram();
  private readonly hArrival: HandlerId;
  private readonly hDeparture: HandlerId;

  constructor(
    private readonly p: MmcParams,
    streams: RandomStreams,
  ) {
    this.gaps = new ExponentialBlock(streams.get("mm1/arrivals"), NS_PER_S / p.lambda);
    this.services = new ExponentialBlock(streams.get("mm1/service"), NS_PER_S / p.mu);
    this.hArrival = this.sim.on(this.arrival);
    this.hDeparture = this.sim.on(this.departure);
    this.inService = new Float64Array(p.servers);
    this.idleServers = Int32Array.from({ length: p.servers }, (_, i) => i);
    this.idleCount = p.servers;
    this.warmup = p.warmup;
    this.customers = p.customers;
  }

  private startService(server: number, arrivalTime: number): void {
    const service = this.services.next();
    this.serviceSum += service;
    // FIFO: services start in arrival order, so `started` counts customers by arrival.
    if (++this.started > this.warmup) {
      this.waitSum += this.sim.now - arrivalTime;
      this.waited++;
    }
    this.inService[server] = arrivalTime;
    this.sim.schedule(service, this.hDeparture, server);
  }

  private readonly arrival = (): void => {
    const now = this.sim.now;
    this.arrived++;
    if (this.arrived === this.warmup + 1) this.measureFrom = now;
    if (this.idleCount > 0) {
      this.startService(this.idleServers[--this.idleCount], now);
    } else {
      if (this.size === this.queue.length) this.growQueue();
      this.queue[(this.head + this.size) & (this.queue.length - 1)] = now;
      this.size++;
    }
    if (this.arrived < this.customers) this.sim.schedule(this.gaps.next(), this.hArrival);
  };

  private growQueue(): void {
    const bigger = new Float64Array(this.queue.length * 2);
    for (let i = 0; i < this.size; i++) bigger[i] = this.queue[(this.head + i) % this.queue.length];
    this.queue = bigger;
    this.head = 0;
  }

  private readonly departure = (server: number): void => {
    const arrivalTime = this.inService[server];
    this.completed++;
    if (this.completed > this.warmup) {
      const sojourn = this.sim.now - arrivalTime;
      this.sojournSum += sojourn;
      this.sojourns.record(sojourn / NS_PER_S);
      this.measured++;
    }
    if (this.size > 0) {
      const next = this.queue[this.head];
      this.head = (this.head + 1) & (this.queue.length - 1);
      this.size--;
      this.startService(server, next);
    } else {
      this.idleServers[this.idleCount++] = server;
    }
  };

  run(): Metrics {
    this.sim.schedule(this.gaps.next(), this.hArrival);
    this.sim.run();
    const { sim, p } = this;
    // Sojourns are counted in order of departure; with c > 1 servers that order differs a little
    // from arrival order, so the warm-up cut may differ by a few customers: negligible.
    return {
      mean_sojourn_s: this.sojournSum / this.measured / NS_PER_S,
      mean_wait_s: this.waitSum / this.waited / NS_PER_S,
      p99_sojourn_s: this.sojourns.quantile(0.99),
      utilization: this.serviceSum / NS_PER_S / (p.servers * (sim.now / NS_PER_S)),
      customers: this.measured,
      simulated_time_s: (sim.now - this.measureFrom) / NS_PER_S,
    };
  }
}

/** Simulates one replication; times in the result are in seconds. */
export function simulateMmc(p: MmcParams, ctx: Pick<RunContext, "streams">): Metrics {
  return new MmcModel(p, ctx.streams).run();
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
  tiny: { customers: 2000, warmup: 100 },
  replications: { full: 5, quick: 3 },
  charts: mm1Charts,
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
  cost: (config) => Number(config.customers) + Number(config.warmup),
  headlines(rows) {
    return rows
      .filter((r) => r.replication === "all" && r.metric === "mean_sojourn_s_mean")
      .map((r) => {
        const where = { config: r.config };
        const lo = summaryValue(rows, where, "mean_sojourn_s_ci95_low");
        const hi = summaryValue(rows, where, "mean_sojourn_s_ci95_high");
        const exact = summaryValue(rows, where, "analytic_mean_sojourn_s");
        return `${r.config}: mean sojourn ${Number(r.value).toPrecision(4)} s [${lo.toPrecision(4)}, ${hi.toPrecision(4)}], Erlang C ${exact.toPrecision(4)} s`;
      });
  },
  reference(config) {
    const p = paramsOf(config);
    return {
      analytic_mean_sojourn_s: mmcMeanSojourn(p.lambda, p.mu, p.servers),
      analytic_mean_wait_s: mmcMeanWait(p.lambda, p.mu, p.servers),
      analytic_utilization: p.lambda / (p.servers * p.mu),
    };
  },
};
