/**
 * Runs a plan: each task (config × replication) with its own streams, finished tasks kept as
 * small part files so an interrupted run resumes where it stopped, then the long CSV of
 * DESIGN.md with per-replication rows and summary rows (mean and Student-t 95 % CI).
 * Shards write their rows plus a manifest; `mergeShards` rebuilds exactly what one unsharded
 * run writes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../models/proxy/hash.js";
import { InputError } from "../sim/errors.js";
import { summarize, type Summary } from "../sim/summary.js";
import { formatDecimal, readCsv, writeCsvAtomic, type CsvRow } from "./csv.js";
import type { ExperimentDefinition, Metrics } from "./definition.js";
import { shardTasks, type Plan, type Task } from "./plan.js";
import type { TaskPool } from "./pool.js";
import type { Progress } from "./progress.js";
import { runTaskInProcess, type TaskInput } from "./task.js";

export interface RunPlanOptions {
  outDir: string;
  shard?: { index: number; count: number };
  /** Worker threads to run tasks on beside this thread; everything runs here when absent. */
  pool?: TaskPool;
  /** The pool will draw the charts after the run: its threads may load vega once idle. */
  poolDrawsCharts?: boolean;
  progress?: Progress;
}

export interface RunResult {
  csvPath: string;
  rows: CsvRow[];
  /** Tasks that were already done in outDir and not run again. */
  resumed: number;
}

/**
 * A task's part-file name: the first 12 bytes of sha256 of what identifies it, in hex. (kube-proxy's
 * chain-name sha256, in JavaScript for short text: node:crypto costs ~5 ms to load.)
 */
function taskKey(input: TaskInput): string {
  const text = JSON.stringify([input.experiment, input.seed, input.replication, Object.entries(input.config)]);
  return Buffer.from(sha256(text).subarray(0, 12)).toString("hex");
}

function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function taskInput(plan: Plan, task: Task): TaskInput {
  return { experiment: plan.experiment, config: plan.configs[task.configIndex], seed: plan.seed, replication: task.replication };
}

export async function runPlan(def: ExperimentDefinition, plan: Plan, options: RunPlanOptions): Promise<RunResult> {
  const tasks = shardTasks(plan, options.shard);
  const partsDir = join(options.outDir, ".parts", plan.experiment);
  const results = new Map<number, Metrics>();
  const todo: Task[] = [];
  for (const task of tasks) {
    const path = join(partsDir, `${taskKey(taskInput(plan, task))}.json`);
    if (existsSync(path)) results.set(task.index, JSON.parse(readFileSync(path, "utf8")) as Metrics);
    else todo.push(task);
  }
  const resumed = results.size;
  options.progress?.start(tasks.length, resumed);
  if (todo.length > 0) mkdirSync(partsDir, { recursive: true });
  const finish = (task: Task, input: TaskInput, metrics: Metrics): void => {
    writeFileAtomic(join(partsDir, `${taskKey(input)}.json`), JSON.stringify(metrics));
    results.set(task.index, metrics);
    options.progress?.tick(`${plan.configNames[task.configIndex]} #${task.replication}`);
  };
  // Every thread claims the next unit of tasks from one counter, the costliest first. Rows are
  // assembled by task index, so which thread ran a task changes nothing in the output.
  const units = options.pool ? workUnits(def, plan, todo) : todo.map((t) => [t]);
  const order = units.flat();
  const inputs = order.map((task) => taskInput(plan, task));
  const unitStarts = [0];
  for (const u of units) unitStarts.push(unitStarts[unitStarts.length - 1] + u.length);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const lanes = options.pool?.runLanes({ inputs, unitStarts }, next, (position, metrics) => finish(order[position], inputs[position], metrics), options.poolDrawsCharts);
  // A task that fails on a worker thread: no thread claims more work, and the failure surfaces
  // below (await), not as an unhandled rejection while this thread is busy.
  lanes?.finished.catch(() => Atomics.store(next, 0, units.length));
  // This thread starts once the other threads have (they need its event loop to get going).
  await lanes?.started;
  for (let unit = Atomics.add(next, 0, 1); unit < units.length; unit = Atomics.add(next, 0, 1)) {
    for (let position = unitStarts[unit]; position < unitStarts[unit + 1]; position++) {
      finish(order[position], inputs[position], await runTaskInProcess(def, inputs[position]));
      // Let the worker threads' results in (part files, progress) between tasks of this thread.
      if (lanes) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  await lanes?.finished;
  options.progress?.stop();

  const rows = await buildRows(def, plan, results, options.shard === undefined);
  const csvPath = join(options.outDir, `${plan.experiment}.csv`);
  await writeCsvAtomic(csvPath, csvHeaders(plan), rows);
  const manifestPath = join(options.outDir, `${plan.experiment}.manifest.json`);
  writeFileAtomic(manifestPath, JSON.stringify(manifestOf(plan, options.shard), null, 2) + "\n");
  return { csvPath, rows, resumed };
}

/**
 * How a pool's threads take the tasks: in units, claimed whole, the costliest unit first
 * (longest processing time first, so the last units are short). A unit is the tasks of the
 * configs that share a study's cache (`shareKey`), or else one task. Costs are the study's
 * estimates (`cost`), summed over a unit; without them units keep the plan's order. Within a
 * unit, and between units of equal cost, the plan's order holds.
 */
export function workUnits(def: ExperimentDefinition, plan: Plan, tasks: readonly Task[]): Task[][] {
  const costOf = plan.configs.map((c) => def.cost?.(c) ?? 0);
  const byKey = new Map<string, Task[]>();
  const units: Task[][] = [];
  for (const task of tasks) {
    const key = def.shareKey?.(plan.configs[task.configIndex]);
    if (key === undefined) {
      units.push([task]);
      continue;
    }
    const unit = byKey.get(key);
    if (unit) unit.push(task);
    else {
      const fresh = [task];
      byKey.set(key, fresh);
      units.push(fresh);
    }
  }
  const total = (u: Task[]) => u.reduce((sum, t) => sum + costOf[t.configIndex], 0);
  const costs = new Map(units.map((u) => [u, total(u)]));
  return units.sort((a, b) => (costs.get(b) as number) - (costs.get(a) as number) || a[0].index - b[0].index);
}

/**
 * Mean and 95 % CI of a metric over replications. A replication where the metric is undefined
 * (NaN: no request of that kind, say) does not count; if none has it, the summary is NaN.
 */
export function summarizeReplications(values: readonly number[]): Summary {
  return summarize(values.filter((v) => Number.isFinite(v)));
}

export function csvHeaders(plan: Plan): string[] {
  return ["experiment", "config", "replication", "seed", ...plan.paramNames, "metric", "value"];
}

/** Rows in a fixed order: per config, its replications' metrics, then its summary rows. */
export async function buildRows(def: ExperimentDefinition, plan: Plan, results: Map<number, Metrics>, withSummary: boolean): Promise<CsvRow[]> {
  const references = withSummary && def.reference ? await Promise.all(plan.configs.map((config) => def.reference!(config))) : [];
  const rows: CsvRow[] = [];
  plan.configs.forEach((config, configIndex) => {
    const base = (replication: string): CsvRow => {
      const row: CsvRow = { experiment: plan.experiment, config: plan.configNames[configIndex], replication, seed: String(plan.seed) };
      for (const p of plan.paramNames) {
        const v = config[p];
        row[p] = typeof v === "number" ? formatDecimal(v) : v;
      }
      return row;
    };
    const perMetric = new Map<string, number[]>();
    for (let r = 0; r < plan.replications; r++) {
      const metrics = results.get(configIndex * plan.replications + r);
      if (!metrics) continue;
      for (const [metric, value] of Object.entries(metrics)) {
        rows.push({ ...base(String(r)), metric, value: formatDecimal(value) });
        const list = perMetric.get(metric);
        if (list) list.push(value);
        else perMetric.set(metric, [value]);
      }
    }
    if (!withSummary) return;
    for (const [metric, values] of perMetric) {
      const s = summarizeReplications(values);
      rows.push({ ...base("all"), metric: `${metric}_mean`, value: formatDecimal(s.mean) });
      rows.push({ ...base("all"), metric: `${metric}_ci95_low`, value: formatDecimal(s.ci95Low) });
      rows.push({ ...base("all"), metric: `${metric}_ci95_high`, value: formatDecimal(s.ci95High) });
    }
    for (const [metric, value] of Object.entries(references[configIndex] ?? {})) {
      rows.push({ ...base("all"), metric, value: formatDecimal(value) });
    }
  });
  return rows;
}

/** What a shard records of its plan: all of it but the task list (derived), and which shard it was. */
type Manifest = Omit<Plan, "tasks"> & { shard: { index: number; count: number } | null };

function manifestOf(plan: Plan, shard: { index: number; count: number } | undefined): Manifest {
  const { tasks: _tasks, ...rest } = plan;
  return { ...rest, shard: shard ?? null };
}

/**
 * Joins the outputs of shards (each DIR holding NAME.csv and NAME.manifest.json) into exactly
 * what one unsharded run writes. Throws InputError if shards disagree or some task is missing.
 */
export async function mergeShards(
  dirs: string[],
  lookup: (name: string) => ExperimentDefinition | undefined,
): Promise<{ plan: Plan; def: ExperimentDefinition; rows: CsvRow[] }> {
  let first: Manifest | undefined;
  const results = new Map<number, Metrics>();
  const paramKey = (m: Manifest) => JSON.stringify([m.experiment, m.seed, m.replications, m.quick, m.paramNames, m.configs]);
  for (const dir of dirs) {
    const manifests = existsSync(dir) ? readManifests(dir) : [];
    if (manifests.length !== 1) {
      throw new InputError("cannot merge this directory", {
        file: dir,
        expected: "exactly one NAME.manifest.json written by `svcsim exp ... --shard I/N`",
        found: `${manifests.length}`,
      });
    }
    const [manifestPath, manifest] = manifests[0];
    if (first && paramKey(first) !== paramKey(manifest)) {
      throw new InputError("shards of different runs cannot be merged", {
        file: manifestPath,
        expected: `the experiment, seed, replications and parameters of ${dirs[0]}`,
        found: "different ones",
      });
    }
    first ??= manifest;
    const { rows } = await readCsv(join(dir, `${manifest.experiment}.csv`));
    const configIndex = new Map(manifest.configNames.map((n, i) => [n, i]));
    for (const row of rows) {
      if (row.replication === "all") continue;
      const ci = configIndex.get(row.config);
      if (ci === undefined) throw new InputError("row of an unknown config", { file: dir, fieldPath: "config", found: row.config });
      const index = ci * manifest.replications + Number(row.replication);
      let m = results.get(index);
      if (!m) results.set(index, (m = {}));
      m[row.metric] = Number(row.value);
    }
  }
  if (!first) throw new InputError("nothing to merge", { expected: "one or more shard directories", found: "none" });
  const def = lookup(first.experiment);
  if (!def) throw new InputError("unknown experiment in manifest", { fieldPath: "experiment", found: first.experiment });
  const plan: Plan = {
    ...first,
    tasks: first.configs.flatMap((_, ci) =>
      Array.from({ length: first.replications }, (_unused, r) => ({ index: ci * first.replications + r, configIndex: ci, replication: r })),
    ),
  };
  const missing = plan.tasks.filter((t) => !results.has(t.index));
  if (missing.length > 0) {
    throw new InputError("shards are missing tasks", {
      expected: `${plan.tasks.length} tasks`,
      found: `${plan.tasks.length - missing.length} (first missing: ${plan.configNames[missing[0].configIndex]} replication ${missing[0].replication})`,
    });
  }
  return { plan, def, rows: await buildRows(def, plan, results, true) };
}

function readManifests(dir: string): [string, Manifest][] {
  const out: [string, Manifest][] = [];
  for (const name of readdirSafe(dir)) {
    if (!name.endsWith(".manifest.json")) continue;
    const path = join(dir, name);
    out.push([path, JSON.parse(readFileSync(path, "utf8")) as Manifest]);
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
