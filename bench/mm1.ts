/**
 * The speed target of the engine: mm1 (M/M/1, λ = 0.9, μ = 1) with 2,000,000 customers, in
 * customers per second, against SimPy on the same model and machine (the anchor script prints
 * SimPy's customers per second, timing env.run() only).
 *
 *   node dist/bench/mm1.js [--customers N] [--runs R] [--simpy-runs S] [--python PATH] [--anchor FILE]
 *
 * Measures, on this machine, in this order:
 * - whole process: `svcsim exp mm1 ... --replications 1 --out <fresh dir>` as a child process,
 *   wall time from spawn to exit (node start-up, module loading, the simulation, the CSV and
 *   whatever else the command does), R times each with its two charts, with --no-charts, and
 *   (where NODE_EXTRA_CA_CERTS is set) with --no-charts without that variable, alternating;
 *   and a bare `node -e 0` both ways, for Node's own share;
 * - in process: simulateMmc() alone, R times in this process; the first run is the cold one
 *   (the JIT compiles as it goes), as in the command, the best is the warm one;
 * - SimPy: the anchor, S times (about 15 s each), one after each round of whole-process runs,
 *   and the ratio within each round (figures taken minutes apart at most).
 * and prints the best and the median of each, the ratios, and the load average before and
 * after (the machine is shared: compare figures taken at similar loads).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import v8 from "node:v8";
import { join, resolve } from "node:path";
import { packageRoot } from "../experiments/paths.js";
import { simulateMmc } from "../experiments/mm1.js";
import { RandomStreams } from "../sim/random.js";
import { type Env, envOf, LAMBDA, mm1Process, MU, SEED } from "./mm1Process.js";

interface Options {
  customers: number;
  runs: number;
  simpyRuns: number;
  python: string;
  anchor: string;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = {
    customers: 2_000_000,
    runs: 5,
    simpyRuns: 3,
    python: "/usr/bin/python3",
    anchor: resolve(packageRoot, "..", "shared", "anchors", "mm1_simpy.py"),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`bench/mm1: ${flag} needs a value`);
    if (flag === "--customers") opts.customers = positiveInteger(flag, value);
    else if (flag === "--runs") opts.runs = positiveInteger(flag, value);
    else if (flag === "--simpy-runs") opts.simpyRuns = positiveInteger(flag, value);
    else if (flag === "--python") opts.python = value;
    else if (flag === "--anchor") opts.anchor = value;
    else throw new Error(`bench/mm1: unknown option ${flag}`);
  }
  return opts;
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bench/mm1: ${flag} must be a positive integer, got ${text}`);
  return n;
}

/** Seconds of wall time of a bare `node -e 0`. */
function bareNode(env: Env): number {
  const t0 = performance.now();
  spawnSync(process.execPath, ["-e", "0"], { env: envOf(env) });
  return (performance.now() - t0) / 1000;
}

/** Seconds of simulateMmc() alone, as the runner calls it for replication 0. */
function inProcess(customers: number): number {
  const t0 = performance.now();
  simulateMmc({ lambda: LAMBDA, mu: MU, servers: 1, customers, warmup: 0 }, { streams: new RandomStreams(SEED, 0) });
  return (performance.now() - t0) / 1000;
}

/** SimPy's customers per second, as the anchor prints them. */
function simpy(opts: Options): number {
  const r = spawnSync(opts.python, [opts.anchor, String(LAMBDA), String(MU), "1", String(opts.customers)], { encoding: "utf8" });
  const match = /cust_per_s\s+([0-9.eE+-]+)/.exec(r.stdout ?? "");
  if (r.status !== 0 || !match) {
    throw new Error(`SimPy anchor failed (${opts.python} ${opts.anchor}, status ${r.status}): ${r.stderr || r.error?.message || r.stdout}`);
  }
  return Number(match[1]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

const rate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M/s` : `${(n / 1e3).toFixed(1)}k/s`);
const ratio = (x: number): string => `×${x.toFixed(1)}`;

function main(): void {
  // The in-process runs under the flags the command sets, before any model code is compiled.
  const { COMMAND_V8_FLAGS } = createRequire(import.meta.url)(join(packageRoot, "bin", "v8Flags.js")) as { COMMAND_V8_FLAGS: string };
  v8.setFlagsFromString(COMMAND_V8_FLAGS);
  const opts = parseOptions(process.argv.slice(2));
  if (!existsSync(opts.anchor)) throw new Error(`bench/mm1: no SimPy anchor at ${opts.anchor} (pass --anchor FILE)`);
  const n = opts.customers;
  const cpus = os.cpus();
  const version = JSON.parse(readFileSync(resolve(packageRoot, "package.json"), "utf8")) as { version: string };
  process.stdout.write(
    `mm1 (λ=${LAMBDA}, μ=${MU}, c=1), ${n.toLocaleString("en-US")} customers — svcsim ${version.version}, node ${process.version}, ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? "?"}, load average ${load()}\n`,
  );

  // In process first, while this process has run nothing else: its first run is cold.
  const inner = Array.from({ length: opts.runs }, () => inProcess(n));
  process.stdout.write(`  in process    ${inner.map((s) => s.toFixed(3)).join(" ")} s (load ${load()})\n`);
  // One run of each, not counted: the first command after a build may write the code caches.
  mm1Process(1000, { charts: true });
  // Rounds of svcsim runs, each followed by a SimPy run: a ratio taken within a round compares
  // figures measured minutes apart at most, whatever the machine's drift over the sitting.
  // Within a round the kinds of run alternate, so that drift falls on all alike.
  const whole: number[] = [];
  const bare: number[] = [];
  const stock: number[] = [];
  const nodeAsIs: number[] = [];
  const nodeStock: number[] = [];
  const sim: number[] = [];
  const rounds: { bare: number[]; simpy: number }[] = [];
  const perRound = Math.ceil(opts.runs / opts.simpyRuns);
  for (let r = 0; r < opts.simpyRuns; r++) {
    const roundBare: number[] = [];
    for (let i = 0; i < perRound && whole.length < opts.runs; i++) {
      whole.push(mm1Process(n, { charts: true }));
      roundBare.push(mm1Process(n, { charts: false }));
      stock.push(mm1Process(n, { charts: false, env: "stock" }));
      nodeAsIs.push(bareNode("as is"));
      nodeStock.push(bareNode("stock"));
    }
    bare.push(...roundBare);
    sim.push(simpy(opts));
    rounds.push({ bare: roundBare, simpy: sim[sim.length - 1] });
  }
  process.stdout.write(`  whole process ${whole.map((s) => s.toFixed(3)).join(" ")} s\n`);
  process.stdout.write(`  whole, --no-charts ${bare.map((s) => s.toFixed(3)).join(" ")} s\n`);
  const certs = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  if (certs) process.stdout.write(`  whole, --no-charts, without NODE_EXTRA_CA_CERTS ${stock.map((s) => s.toFixed(3)).join(" ")} s\n`);
  process.stdout.write(
    `  node -e 0: median ${(median(nodeAsIs) * 1000).toFixed(0)} ms` +
      (certs ? `, ${(median(nodeStock) * 1000).toFixed(0)} ms without NODE_EXTRA_CA_CERTS (Node parses that file before any script)` : "") +
      ` (load ${load()})\n`,
  );
  process.stdout.write(`  SimPy         ${sim.map((r) => rate(r)).join(" ")} (load ${load()})\n`);
  for (const [k, round] of rounds.entries()) {
    const best = n / Math.min(...round.bare);
    const med = n / median(round.bare);
    process.stdout.write(
      `  round ${k + 1}: --no-charts best ${rate(best)}, median ${rate(med)}; SimPy right after ${rate(round.simpy)}: ` +
        `${ratio(best / round.simpy)} best, ${ratio(med / round.simpy)} median\n`,
    );
  }
  process.stdout.write("\n");

  const simBest = Math.max(...sim);
  const simMedian = median(sim);
  const line = (what: string, best: number, med?: number): string =>
    `  ${what.padEnd(30)} ${rate(best)} = ${ratio(best / simBest)} SimPy's best` +
    (med === undefined ? "" : `; median ${rate(med)} = ${ratio(med / simMedian)} SimPy's median`) +
    "\n";
  process.stdout.write(`  ${"SimPy (env.run only)".padEnd(30)} best ${rate(simBest)}, median ${rate(simMedian)}\n`);
  process.stdout.write(line("svcsim whole process, best", n / Math.min(...whole), n / median(whole)));
  process.stdout.write(line("svcsim whole, --no-charts, best", n / Math.min(...bare), n / median(bare)));
  if (certs) process.stdout.write(line("  the same, stock environment", n / Math.min(...stock), n / median(stock)));
  process.stdout.write(line("svcsim in process, cold", n / inner[0]));
  process.stdout.write(line("svcsim in process, warm best", n / Math.min(...inner), n / median(inner)));
  process.stdout.write(`  (target: whole process ×50)\n`);
}

main();
