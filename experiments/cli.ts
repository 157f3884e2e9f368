/**
 * The `svcsim` command (DESIGN.md, "Stable interfaces"). Exit status: 0 on success, 2 on bad
 * input (one line naming the file, document, field, what was expected and what was found),
 * 1 on an internal fault.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { InputError } from "../sim/errors.js";
import { PROXY_MODE_NAMES } from "../models/proxy/types.js";
import type { ProxyModeName } from "../models/proxy/types.js";
import type { ExperimentDefinition } from "./definition.js";
import { loadExperiments } from "./registry.js";

// Each command imports what it needs when it runs: a process that runs mm1 does not load vega,
// zod schemas or the proxy modes. (The command's start-up time counts in the benchmarks that
// time whole processes.)
const scenarioModules = async () => {
  const [{ loadScenario }, { resolveCluster }] = await Promise.all([import("../models/scenario/load.js"), import("../models/cluster/resolve.js")]);
  return { loadScenario, resolveCluster };
};

/**
 * For the commands that read one scenario, print and exit (`rules`, `describe`): their heap is
 * bounded by the scenario (16 MB of YAML at most by default), and a full collection late in
 * the run frees garbage the process would never reuse. So the old generation may grow ×10
 * between full collections instead of V8's usual ×1.1–4: on 10,000 Services, one 40–75 ms
 * mark-compact fewer, `svcsim rules` ~4 % faster, for 28 MB more peak memory. Not for `run` or
 * `exp`, whose heaps live long and grow with the simulation.
 *
 * main() puts V8's default back when the command is done: bin/svcsim.js then writes the code
 * cache, and V8 stamps a cache with a hash of the flags in force, refusing it in a process whose
 * flags differ; every command starts without this one.
 */
let oneShotHeapSet = false;
async function oneShotHeap(): Promise<void> {
  const { setFlagsFromString } = await import("node:v8");
  setFlagsFromString("--heap-growing-percent=900");
  oneShotHeapSet = true;
}

async function restoreHeapFlags(): Promise<void> {
  if (!oneShotHeapSet) return;
  const { setFlagsFromString } = await import("node:v8");
  setFlagsFromString("--heap-growing-percent=0"); // V8's default: its own heuristics
  oneShotHeapSet = false;
}

/** A synchronous lookup over every study, for commands that meet a study's name in a file. */
async function allStudies(): Promise<(name: string) => ExperimentDefinition | undefined> {
  const all = await loadExperiments();
  return (name) => all.find((e) => e.name === name);
}

function choice<T extends string>(name: string, allowed: readonly T[]) {
  return (text: string): T => {
    if (!(allowed as readonly string[]).includes(text)) {
      throw new InputError(`bad ${name}`, { fieldPath: name, expected: `one of ${allowed.join(", ")}`, found: JSON.stringify(text) });
    }
    return text as T;
  };
}

function integerOption(name: string, min: number) {
  return (text: string): number => {
    const v = Number(text);
    if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min) {
      throw new InputError(`bad ${name}`, { fieldPath: name, expected: `an integer >= ${min}`, found: JSON.stringify(text) });
    }
    return v;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface ExpOptions {
  seed?: number;
  replications?: number;
  set: string[];
  quick?: boolean;
  tiny?: boolean;
  charts: boolean;
  workers: number;
  shard?: string;
  out?: string;
}

async function runExperiment(name: string, opts: ExpOptions): Promise<void> {
  const { executeExperiment, headlinesOf } = await import("./execute.js");
  const result = await executeExperiment(name, {
    seed: opts.seed,
    replications: opts.replications,
    sets: opts.set,
    quick: opts.quick,
    tiny: opts.tiny,
    workers: opts.workers,
    shard: opts.shard,
    out: opts.out,
    noCharts: !opts.charts,
  });
  process.stdout.write(`wrote ${result.csvPath}${result.resumed > 0 ? ` (${result.resumed} runs resumed)` : ""}\n`);
  for (const chart of result.charts) process.stdout.write(`wrote ${chart}\n`);
  for (const line of headlinesOf(result)) process.stdout.write(`  ${line}\n`);
}

/** `npm start`: the quick suite, then where everything is and what it says. */
async function runStart(opts: { workers: number; out: string }): Promise<void> {
  const { headlinesOf, QUICK_SUITE, runQuickSuite } = await import("./execute.js");
  process.stdout.write(`svcsim: running the quick suite (${QUICK_SUITE.join(", ")}) on ${opts.workers} worker(s)\n`);
  const results = await runQuickSuite(opts.workers, opts.out);
  process.stdout.write("\n");
  for (const r of results) {
    process.stdout.write(`${r.def.name} — ${r.def.question}\n  CSV: ${r.csvPath}\n`);
    for (const chart of r.charts) process.stdout.write(`  SVG: ${chart}\n`);
    for (const line of headlinesOf(r)) process.stdout.write(`  ${line}\n`);
    process.stdout.write("\n");
  }
  process.stdout.write("More: `npx svcsim list`, `npx svcsim exp NAME --quick`, docs/STUDIES.md\n");
}

function buildProgram(): Command {
  const program = new Command("svcsim")
    .description("A discrete-event performance simulator of Kubernetes Services and kube-proxy")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);

  program
    .command("list")
    .description("list the shipped experiments")
    .action(async () => {
      const experiments = await loadExperiments();
      const width = Math.max(...experiments.map((e) => e.name.length));
      for (const e of experiments) process.stdout.write(`${e.name.padEnd(width)}  ${e.question}\n`);
    });

  program
    .command("exp")
    .description("run a shipped experiment; writes DIR/NAME.csv (default DIR: results/NAME/)")
    .argument("<name>", "experiment name (see `svcsim list`)")
    .option("--seed <n>", "base seed", integerOption("--seed", 0))
    .option("--replications <r>", "independent replications", integerOption("--replications", 1))
    .option("--set <key=value>", "set a parameter; key=v1,v2 sweeps it (repeatable)", collect, [])
    .option("--quick", "the quick size (under a minute)")
    .addOption(new Option("--tiny", "the smallest size that exercises the study (tests)").hideHelp())
    .option("--workers <w>", "worker threads", integerOption("--workers", 1), 1)
    .option("--shard <i/n>", "run only shard I of N (0-based); join with `svcsim merge`")
    .option("--out <dir>", "output directory")
    .option("--no-charts", "write only the CSV (draw the charts later with `svcsim plot`)")
    .action(runExperiment);

  program
    .command("start")
    .description("run the quick suite of studies and print where the results are (npm start)")
    .option("--workers <w>", "worker threads", integerOption("--workers", 1), Math.max(1, Math.min(2, availableParallelism())))
    .option("--out <dir>", "output root", "results")
    .action(runStart);

  program
    .command("run")
    .description("simulate a scenario file; writes DIR/summary.csv and DIR/pods.csv")
    .argument("<scenario>", "scenario YAML file")
    .option("--seed <n>", "base seed (default: the Run's seed)", integerOption("--seed", 0))
    .option("--replications <r>", "replications (default: the Run's)", integerOption("--replications", 1))
    .option("--mode <mode>", "override the Cluster's kube-proxy mode", choice("--mode", PROXY_MODE_NAMES))
    .option("--profile <file>", "cost profile (JSON) instead of the default")
    .option("--out <dir>", "output directory (default: results/<scenario name>/)")
    .action(async (file: string, opts: { seed?: number; replications?: number; mode?: ProxyModeName; profile?: string; out?: string }) => {
      const { runScenarioFile } = await import("./scenarioRun.js");
      const { plotCsv } = await import("./plot.js");
      const out = await runScenarioFile(file, opts);
      process.stdout.write(`wrote ${out.summaryPath} and ${out.podsPath}\n`);
      for (const csv of [out.summaryPath, out.podsPath]) {
        for (const svg of await plotCsv(csv, () => undefined)) process.stdout.write(`wrote ${svg}\n`);
      }
      const show = ["requests", "error_rate", "p50_latency_s", "p99_latency_s", "jain_index", "first_packet_p50_s"];
      for (const row of out.summaryRows) {
        const base = row.metric.replace(/_mean$/, "");
        if (row.replication === "all" && row.metric.endsWith("_mean") && show.includes(base)) {
          process.stdout.write(`  ${base} = ${Number(row.value).toPrecision(5)}\n`);
        }
      }
    });

  program
    .command("describe")
    .description("print the resolved objects as a v1 List, as kubectl get -o yaml would")
    .argument("<scenario>", "scenario YAML file")
    .option("-o, --output <format>", "yaml or json", choice("-o", ["yaml", "json"] as const), "yaml")
    .action(async (file: string, opts: { output: "yaml" | "json" }) => {
      await oneShotHeap();
      const { loadScenario, resolveCluster } = await scenarioModules();
      const { describeList } = await import("../models/cluster/describe.js");
      const { stringify: toYaml } = await import("yaml");
      const list = describeList(resolveCluster(loadScenario(file)));
      process.stdout.write(opts.output === "json" ? `${JSON.stringify(list, null, 2)}\n` : toYaml(list, { lineWidth: 0 }));
    });

  program
    .command("rules")
    .description("print one node's data plane in the mode's native format")
    .argument("<scenario>", "scenario YAML file")
    .requiredOption("--mode <mode>", "iptables, nftables or ipvs", choice("--mode", PROXY_MODE_NAMES))
    .option("--node <name>", "the node (default: the first)")
    .action(async (file: string, opts: { mode: ProxyModeName; node?: string }) => {
      await oneShotHeap();
      const { loadScenario, resolveCluster } = await scenarioModules();
      const { getProxyMode } = await import("../models/proxy/modes.js");
      const resolved = resolveCluster(loadScenario(file));
      const nodeName = opts.node ?? resolved.state.nodes[0]?.name;
      if (!resolved.state.nodes.some((n) => n.name === nodeName)) {
        throw new InputError("unknown node", {
          file,
          fieldPath: "--node",
          expected: `one of ${resolved.state.nodes.map((n) => n.name).join(", ")}`,
          found: JSON.stringify(opts.node),
        });
      }
      const plane = getProxyMode(opts.mode, "--mode").compile(resolved.state, {
        nodeName: nodeName!,
        clusterCIDR: resolved.state.clusterCIDR,
        ipvsScheduler: resolved.config.kubeProxy.ipvsScheduler,
      });
      process.stdout.write(plane.render());
    });

  program
    .command("merge")
    .description("merge the outputs of shards into exactly what one unsharded run writes")
    .argument("<dirs...>", "shard output directories")
    .option("--out <dir>", "output directory (default: results/NAME/)")
    .action(async (dirs: string[], opts: { out?: string }) => {
      const { csvHeaders, mergeShards } = await import("./runner.js");
      const { writeCsvAtomic } = await import("./csv.js");
      const { writeCharts } = await import("./plot.js");
      const lookup = await allStudies();
      const { plan, rows } = await mergeShards(dirs, lookup);
      const path = join(opts.out ?? join("results", plan.experiment), `${plan.experiment}.csv`);
      await writeCsvAtomic(path, csvHeaders(plan), rows);
      process.stdout.write(`wrote ${path}\n`);
      const def = lookup(plan.experiment);
      if (def?.charts) for (const svg of await writeCharts(dirname(path), def.charts(rows))) process.stdout.write(`wrote ${svg}\n`);
    });

  program
    .command("plot")
    .description("draw a study's SVG charts from its CSV, next to the CSV")
    .argument("<csv>", "a result CSV: NAME.csv of `svcsim exp` or `merge`, summary.csv or pods.csv of `svcsim run`")
    .action(async (csv: string) => {
      const { plotCsv } = await import("./plot.js");
      for (const svg of await plotCsv(csv, await allStudies())) process.stdout.write(`wrote ${svg}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`svcsim: ${err.format()}\n`);
      return 2;
    }
    if (err instanceof CommanderError || err instanceof InvalidArgumentError) {
      // Commander has already printed its message (usage errors); --help and --version end here too.
      return err.exitCode === 0 ? 0 : 2;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`svcsim: internal error: ${e.message}\n${e.stack ?? ""}\n`);
    return 1;
  } finally {
    await restoreHeapFlags();
  }
}
