/**
 * mm1 end to end under benchmark.js (`npm run bench -- mm1`). In process, one op is one
 * replication as the runner makes it: the model built, its customers simulated on the event
 * kernel, its metrics computed — for M/M/1 (λ = 0.9, μ = 1) and M/M/4 (λ = 3.6, μ = 1);
 * benchmark.js repeats it, so these are warm figures (under V8's default inlining budget; the
 * command raises it). Whole process, one op is the `svcsim exp mm1 --no-charts` command as a
 * child process: Node's start, the bundle, the run, the CSV (plus a fresh output directory made
 * and removed). ops/s × customers = customers/s. The comparison with SimPy, whole process and
 * cold, is bench/mm1.ts (`npm run bench:mm1`).
 */
import Benchmark from "benchmark";
import { simulateMmc, type MmcParams } from "../experiments/mm1.js";
import { RandomStreams } from "../sim/random.js";
import { mm1Process } from "./mm1Process.js";

const CUSTOMERS = 200_000;
/** Seconds per benchmark: enough for a stable figure without hogging a shared machine. */
const MAX_TIME = 3;

const QUEUES: [string, Omit<MmcParams, "customers" | "warmup">][] = [
  ["M/M/1, λ = 0.9, μ = 1", { lambda: 0.9, mu: 1, servers: 1 }],
  ["M/M/4, λ = 3.6, μ = 1", { lambda: 3.6, mu: 1, servers: 4 }],
];

function inProcessSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite(`mm1 end to end, in process: one replication of ${CUSTOMERS.toLocaleString("en-US")} customers an op`);
  for (const [name, queue] of QUEUES) {
    let replication = 0;
    suite.add(
      `simulateMmc, ${name}`,
      () => {
        const m = simulateMmc({ ...queue, customers: CUSTOMERS, warmup: 1000 }, { streams: new RandomStreams(7, replication++) });
        if (!(m.mean_sojourn_s > 0)) throw new Error(`mm1 bench: mean sojourn ${m.mean_sojourn_s}`);
      },
      { maxTime: MAX_TIME },
    );
  }
  return suite;
}

function wholeProcessSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite(`mm1 end to end, whole process: svcsim exp mm1 --no-charts, ${CUSTOMERS.toLocaleString("en-US")} customers an op`);
  suite.add("svcsim exp mm1 (M/M/1, λ = 0.9, μ = 1), one replication", () => mm1Process(CUSTOMERS, { charts: false }), {
    maxTime: MAX_TIME * 2,
    minSamples: 10,
  });
  return suite;
}

export function createSuites(): Benchmark.Suite[] {
  return [inProcessSuite(), wholeProcessSuite()];
}
