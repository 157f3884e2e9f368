/**
 * The `svcsim` command (DESIGN.md, "Stable interfaces"). Exit status: 0 on success, 2 on bad
 * input (one line naming the file, document, field, what was expected and what was found),
 * 1 on an internal fault.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { join } from "node:path";
import { InputError } from "../sim/errors.js";
import { writeCsvAtomic } from "./csv.js";
import { makePlan, parseShard } from "./plan.js";
import { createTaskPool } from "./pool.js";
import { progressFor } from "./progress.js";
import { experiments, findExperiment } from "./registry.js";
import { csvHeaders, mergeShards, runPlan, type RunResult } from "./runner.js";

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
  workers: number;
  shard?: string;
  out?: string;
}

async function runExperiment(name: string, opts: ExpOptions): Promise<void> {
  const def = findExperiment(name);
  if (!def) {
    throw new InputError(`unknown experiment '${name}'`, {
      expected: `one of ${experiments.map((e) => e.name).join(", ")}`,
      found: JSON.stringify(name),
    });
  }
  // Everything is validated before anything is written.
  const plan = makePlan(def, { seed: opts.seed, replications: opts.replications, sets: opts.set, quick: opts.quick });
  const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
  const outDir = opts.out ?? join("results", name);
  const pool = opts.workers > 1 ? createTaskPool(opts.workers) : undefined;
  let result: RunResult;
  try {
    result = await runPlan(def, plan, {
      outDir,
      shard,
      execute: pool?.execute,
      progress: progressFor(name),
    });
  } finally {
    await pool?.close();
  }
  process.stdout.write(`wrote ${result.csvPath}${result.resumed > 0 ? ` (${result.resumed} runs resumed)` : ""}\n`);
  printHeadlines(result);
}

/** A few summary means with their CIs, so a user sees the answer without opening the CSV. */
function printHeadlines(result: RunResult): void {
  const lines: string[] = [];
  for (const row of result.rows) {
    if (row.replication !== "all" || !row.metric.endsWith("_mean")) continue;
    const base = row.metric.slice(0, -"_mean".length);
    const low = result.rows.find((r) => r.config === row.config && r.metric === `${base}_ci95_low`);
    const high = result.rows.find((r) => r.config === row.config && r.metric === `${base}_ci95_high`);
    lines.push(`  ${row.config}  ${base} = ${Number(row.value).toPrecision(5)}  [95% CI ${Number(low?.value).toPrecision(5)}, ${Number(high?.value).toPrecision(5)}]`);
  }
  if (lines.length > 0) process.stdout.write(lines.slice(0, 40).join("\n") + "\n");
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
    .action(() => {
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
    .option("--workers <w>", "worker threads", integerOption("--workers", 1), 1)
    .option("--shard <i/n>", "run only shard I of N (0-based); join with `svcsim merge`")
    .option("--out <dir>", "output directory")
    .action(runExperiment);

  program
    .command("merge")
    .description("merge the outputs of shards into exactly what one unsharded run writes")
    .argument("<dirs...>", "shard output directories")
    .option("--out <dir>", "output directory (default: results/NAME/)")
    .action(async (dirs: string[], opts: { out?: string }) => {
      const { plan, rows } = await mergeShards(dirs, findExperiment);
      const path = join(opts.out ?? join("results", plan.experiment), `${plan.experiment}.csv`);
      await writeCsvAtomic(path, csvHeaders(plan), rows);
      process.stdout.write(`wrote ${path}\n`);
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
  }
}
