/**
 * A worker thread of the pool behind `--workers N`. Tasks are pure functions of (experiment,
 * config, seed, replication), so results do not depend on which thread ran them or in which
 * order.
 */
import type { ChartsInput, LaneInput, LaneResult } from "./pool.js";
import { loadExperiment } from "./registry.js";
import { runTaskInProcess } from "./task.js";

/** Claims units of tasks from the shared counter until none is left; returns how many tasks it ran. */
export async function lane({ inputs, unitStarts, preloadCharts, next, port }: LaneInput): Promise<number> {
  port.postMessage({ position: -1 } satisfies LaneResult);
  let ran = 0;
  const units = unitStarts.length - 1;
  for (let unit = Atomics.add(next, 0, 1); unit < units; unit = Atomics.add(next, 0, 1)) {
    for (let position = unitStarts[unit]; position < unitStarts[unit + 1]; position++) {
      const input = inputs[position];
      const def = await loadExperiment(input.experiment);
      if (!def) throw new Error(`unknown experiment ${input.experiment}`);
      const metrics = await runTaskInProcess(def, input);
      port.postMessage({ position, metrics } satisfies LaneResult);
      ran++;
    }
  }
  // Out of tasks while another thread finishes its last: load vega now, for the charts.
  if (preloadCharts) await plotModule();
  return ran;
}

let plot: Promise<typeof import("./plot.js")> | undefined;
function plotModule(): Promise<typeof import("./plot.js")> {
  plot ??= import("./plot.js");
  return plot;
}

/** Draws a study's charts (writeCharts) on this thread. */
export async function charts({ dir, charts }: ChartsInput): Promise<string[]> {
  return (await plotModule()).writeCharts(dir, charts);
}
