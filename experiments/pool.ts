/** A worker-thread pool (piscina) that runs tasks of a study in parallel. */
import { Piscina } from "piscina";
import type { Metrics } from "./definition.js";
import type { TaskInput } from "./runner.js";

export interface TaskPool {
  execute(task: TaskInput): Promise<Metrics>;
  close(): Promise<void>;
  /** Tasks to keep in flight so that no thread waits for its next one. */
  lanes: number;
}

export function createTaskPool(workers: number): TaskPool {
  // The worker is the compiled module next to this one (dist/experiments/worker.js).
  const pool = new Piscina({
    filename: new URL("./worker.js", import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    // Two tasks per thread: the second waits in the thread, so it starts the moment the first
    // ends, even while the main thread is busy running a task of its own.
    concurrentTasksPerWorker: 2,
    idleTimeout: 1000,
  });
  return {
    execute: (task) => pool.run(task) as Promise<Metrics>,
    close: () => pool.destroy(),
    lanes: 2 * workers,
  };
}
