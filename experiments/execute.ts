/**
 * Running a shipped study the way the command does: plan (everything validated first), run on
 * one thread or a worker pool, write the CSV (and the study's charts), and say what it found.
 */
import { join } from "node:path";
import { InputError } from "../sim/errors.js";
import type { ExperimentDefinition } from "./definition.js";
import { makePlan, parseShard, type PlanOptions } from "./plan.js";
import type { TaskPool } from "./pool.js";
import { progressFor } from "./progress.js";

/** piscina is loaded only for a run that uses worker threads. */
async function createTaskPool(workers: number): Promise<TaskPool> {
  return (await import("./pool.js")).createTaskPool(workers);
}
import { experimentNames, loadExperiment } from "./registry.js";
import { runPlan, type RunResult } from "./runner.js";

export interface ExecuteOptions extends PlanOptions {
  workers?: number;
  shard?: string;
  out?: string;
  /** An existing pool to use (the quick suite shares one across studies). */
  pool?: TaskPool;
  /** Skip drawing the study's charts (`svcsim plot` draws them later from the CSV). */
  noCharts?: boolean;
}

export interface ExecuteResult extends RunResult {
  def: ExperimentDefinition;
  charts: string[];
}

export async function requireExperiment(name: string): Promise<ExperimentDefinition> {
  const def = await loadExperiment(name);
  if (!def) {
    throw new InputError(`unknown experiment '${name}'`, {
      expected: `one of ${experimentNames.join(", ")}`,
      found: JSON.stringify(name),
    });
  }
  return def;
}

export async function executeExperiment(name: string, opts: ExecuteOptions): Promise<ExecuteResult> {
  // N workers: this thread and N - 1 worker threads. They start first, so that they boot while
  // this thread loads the study and plans.
  const ownPool = opts.pool === undefined && (opts.workers ?? 1) > 1 ? await createTaskPool((opts.workers ?? 1) - 1) : undefined;
  const pool = opts.pool ?? ownPool;
  try {
    const def = await requireExperiment(name);
    // Everything is validated before anything is written.
    const plan = makePlan(def, opts);
    const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
    const outDir = opts.out ?? join("results", name);
    // A shard's CSV has no summary rows: its charts are drawn after the merge.
    const drawCharts = shard === undefined && def.charts !== undefined && !opts.noCharts;
    const result = await runPlan(def, plan, { outDir, shard, pool, poolDrawsCharts: drawCharts, progress: await progressFor(name) });
    const specs = drawCharts && def.charts ? def.charts(result.rows) : [];
    // vega is loaded only when there is something to draw, on a worker thread when there is one.
    const charts = specs.length === 0 ? [] : pool ? await pool.drawCharts(outDir, specs) : await (await import("./plot.js")).writeCharts(outDir, specs);
    return { ...result, def, charts };
  } finally {
    await ownPool?.close();
  }
}

/** A few summary means with their CIs, for a study without headlines of its own. */
export function genericHeadlines(result: RunResult): string[] {
  const lines: string[] = [];
  for (const row of result.rows) {
    if (row.replication !== "all" || !row.metric.endsWith("_mean")) continue;
    const base = row.metric.slice(0, -"_mean".length);
    const low = result.rows.find((r) => r.config === row.config && r.metric === `${base}_ci95_low`);
    const high = result.rows.find((r) => r.config === row.config && r.metric === `${base}_ci95_high`);
    lines.push(`${row.config}  ${base} = ${Number(row.value).toPrecision(5)}  [95% CI ${Number(low?.value).toPrecision(5)}, ${Number(high?.value).toPrecision(5)}]`);
  }
  return lines.slice(0, 40);
}

export function headlinesOf(result: ExecuteResult): string[] {
  return result.def.headlines ? result.def.headlines(result.rows) : genericHeadlines(result);
}

/** The quick suite `npm start` runs: the studies that tell the story best. */
export const QUICK_SUITE = ["first-packet-latency", "rolling-update-errors", "keepalive-fairness", "mm1"] as const;

export async function runQuickSuite(workers: number, outRoot = "results"): Promise<ExecuteResult[]> {
  const pool = workers > 1 ? await createTaskPool(workers - 1) : undefined;
  const results: ExecuteResult[] = [];
  try {
    for (const name of QUICK_SUITE) {
      results.push(await executeExperiment(name, { quick: true, pool, out: join(outRoot, name) }));
    }
  } finally {
    await pool?.close();
  }
  return results;
}
