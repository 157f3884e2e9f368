/**
 * A worker thread of the pool behind `--workers N`: runs one task of a shipped study. Tasks
 * are pure functions of (experiment, config, seed, replication), so results do not depend on
 * which worker ran them or in which order.
 */
import type { Metrics } from "./definition.js";
import { loadExperiment } from "./registry.js";
import { runTaskInProcess, type TaskInput } from "./runner.js";

export default async function runTask(input: TaskInput): Promise<Metrics> {
  const def = await loadExperiment(input.experiment);
  if (!def) throw new Error(`unknown experiment ${input.experiment}`);
  return runTaskInProcess(def, input);
}
