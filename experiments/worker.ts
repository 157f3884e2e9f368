/**
 * A worker thread of the pool behind `--workers N`. Tasks are pure functions of (experiment,
 * config, seed, replication), so results do not depend on which thread ran them or in which
 * order.
 */
import type { LaneInput, LaneResult } from "./pool.js";
import { loadExperiment } from "./registry.js";
import { runTaskInProcess } from "./task.js";

/** Claims tasks from the shared counter until none is left; returns how many it ran. */
export async function lane({ inputs, next, port }: LaneInput): Promise<number> {
  port.postMessage({ position: -1 } satisfies LaneResult);
  let ran = 0;
  for (let position = Atomics.add(next, 0, 1); position < inputs.length; position = Atomics.add(next, 0, 1)) {
    const input = inputs[position];
    const def = await loadExperiment(input.experiment);
    if (!def) throw new Error(`unknown experiment ${input.experiment}`);
    const metrics = await runTaskInProcess(def, input);
    port.postMessage({ position, metrics } satisfies LaneResult);
    ran++;
  }
  return ran;
}
