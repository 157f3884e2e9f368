/** A worker-thread pool (piscina) that runs tasks of a study in parallel. */
import { Piscina } from "piscina";
import type { Metrics } from "./definition.js";
import type { TaskInput } from "./runner.js";

export interface TaskPool {
  execute(task: TaskInput): Promise<Metrics>;
  close(): Promise<void>;
}

export function createTaskPool(workers: number): TaskPool {
  // The worker is the compiled module next to this one (dist/experiments/worker.js).
  const pool = new Piscina({
    filename: new URL("./worker.js", import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 1000,
  });
  return {
    execute: (task) => pool.run(task) as Promise<Metrics>,
    close: () => pool.destroy(),
  };
}
