/**
 * A worker-thread pool (piscina) for `--workers N`: N - 1 threads beside the main thread.
 *
 * Tasks are not handed out one message at a time: each thread runs a lane that claims the next
 * unit of tasks from a counter in shared memory (Atomics), and so does the main thread, from
 * the same counter. No thread waits for another to hand it work, and none holds work it has not
 * started, so the last units spread over every thread. Results stream back on a MessagePort as
 * they finish, so the main thread keeps each one (part file, progress) as it arrives.
 */
import v8 from "node:v8";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import type { ChartSpec } from "./charts.js";
import type { Metrics } from "./definition.js";
import type { TaskInput } from "./task.js";

/** The tasks of a run, in the order threads take them: unit u is positions unitStarts[u] to unitStarts[u + 1] - 1. */
export interface LaneWork {
  inputs: TaskInput[];
  unitStarts: number[];
}

/** What a worker thread's lane receives. */
export interface LaneInput extends LaneWork {
  /** Load the chart renderer once out of tasks: the charts will be drawn on this thread. */
  preloadCharts: boolean;
  /** Int32Array over a SharedArrayBuffer: [0] is the next unclaimed unit. */
  next: Int32Array;
  port: MessagePort;
}

/** What a lane posts: that it started (position -1), then each finished task. */
export interface LaneResult {
  position: number;
  metrics?: Metrics;
}

export interface Lanes {
  /** Every thread's lane is running (and claiming tasks). */
  started: Promise<void>;
  /** Every lane ran out of tasks and every result was passed on. */
  finished: Promise<void>;
}

/** What a worker thread receives to draw charts. */
export interface ChartsInput {
  dir: string;
  charts: ChartSpec[];
}

export interface TaskPool {
  /** Starts one lane per thread on `work`, claiming units from `next`. */
  runLanes(work: LaneWork, next: Int32Array, onResult: (position: number, metrics: Metrics) => void, preloadCharts?: boolean): Lanes;
  /**
   * Draws charts on a worker thread (writeCharts there): a thread that ran out of tasks before
   * the last one finished has loaded vega meanwhile, off this thread's critical path.
   */
  drawCharts(dir: string, charts: ChartSpec[]): Promise<string[]>;
  close(): Promise<void>;
}

export function createTaskPool(threads: number): TaskPool {
  // With every core running a task, V8's parallel scavenge only takes cores from the other
  // isolates: two threads that each scavenge alone run ~10 % faster together than with helpers
  // (docs/PERFORMANCE.md). The flag is read at every scavenge, so setting it now is safe.
  v8.setFlagsFromString("--no-parallel-scavenge");
  // The worker module sits next to this one: dist/bundle/worker.js for the command,
  // dist/experiments/worker.js for the compiled sources (benchmarks).
  const pool = new Piscina({
    filename: new URL("./worker.js", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 1000,
  });

  function runLane(work: LaneWork, next: Int32Array, onResult: (position: number, metrics: Metrics) => void, preloadCharts: boolean): Lanes {
    const { port1, port2 } = new MessageChannel();
    let received = 0;
    let expected = -1;
    let onStarted: () => void = () => {};
    let allIn: () => void = () => {};
    const started = new Promise<void>((resolve) => (onStarted = resolve));
    const delivered = new Promise<void>((resolve) => (allIn = resolve));
    port1.on("message", (r: LaneResult) => {
      if (r.metrics === undefined) return onStarted();
      onResult(r.position, r.metrics);
      if (++received === expected) allIn();
    });
    const finished = (async () => {
      try {
        // The lane resolves to how many tasks it ran; its results may still be in the port.
        expected = (await pool.run({ ...work, preloadCharts, next, port: port2 } satisfies LaneInput, { name: "lane", transferList: [port2] })) as number;
        if (received < expected) await delivered;
      } finally {
        onStarted();
        port1.close();
      }
    })();
    return { started, finished };
  }

  return {
    runLanes: (work, next, onResult, preloadCharts = false) => {
      const lanes = Array.from({ length: threads }, () => runLane(work, next, onResult, preloadCharts));
      return {
        started: Promise.all(lanes.map((l) => l.started)).then(() => undefined),
        finished: Promise.all(lanes.map((l) => l.finished)).then(() => undefined),
      };
    },
    drawCharts: async (dir, charts) => (await pool.run({ dir, charts } satisfies ChartsInput, { name: "charts" })) as string[],
    close: () => pool.destroy(),
  };
}
