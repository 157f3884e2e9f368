/**
 * The event queue under the classic hold model: with N events pending, each operation pops the
 * earliest and pushes one at (its time + a random increment), so the queue size stays N. One
 * benchmark op = one pop + one push (for Simulation: one step() = a fired handler that
 * schedules the next event), so ops/s is events/s — except the run() benchmark, whose op is
 * BATCH events (run() until a handler calls stop()), so that its figure × BATCH is events/s
 * on the path simulations actually take.
 *
 * Increments are exponential with mean 1 ms, drawn up front from a seeded stream into a ring,
 * so the figures measure the queue, not the generator. State is built in each benchmark's
 * onStart and dropped in onComplete, so the 1M-event queues exist only while they are measured.
 */
import Benchmark from "benchmark";
import { Simulation } from "../sim/engine.js";
import type { HandlerId } from "../sim/engine.js";
import { EventHeap } from "../sim/heap.js";
import { createStream } from "../sim/random.js";
import { NS_PER_MS } from "../sim/time.js";

const SIZES = [1_000, 100_000, 1_000_000];
const RING = 1 << 16;
const MASK = RING - 1;
/** Seconds per benchmark: enough for a stable figure without hogging a shared machine. */
const MAX_TIME = 2;
/** Events per op of the run() benchmark: ops/s × BATCH = events/s. */
const BATCH = 1000;

function increments(): Float64Array {
  const rng = createStream(1, 0, "bench/heap/increments");
  const ring = new Float64Array(RING);
  for (let i = 0; i < RING; i++) ring[i] = Math.round(-NS_PER_MS * Math.log(1 - rng.next()));
  return ring;
}

/** The initial pending events: exponential times from 0, as the hold model starts. */
function initialTimes(n: number): Float64Array {
  const rng = createStream(1, 0, "bench/heap/initial");
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) times[i] = Math.round(-NS_PER_MS * Math.log(1 - rng.next()));
  return times;
}

function label(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n);
}

function heapSuite(n: number, inc: Float64Array): Benchmark.Suite {
  const suite = new Benchmark.Suite(`event queue hold model, ${label(n)} pending`);

  let heap: EventHeap | undefined;
  let k = 0;
  suite.add(
    `EventHeap pop+push, ${label(n)} pending`,
    () => {
      const h = heap as EventHeap;
      const v = h.pop();
      h.push(h.lastTime + inc[k++ & MASK], v);
    },
    {
      maxTime: MAX_TIME,
      onStart: () => {
        heap = new EventHeap(n);
        const times = initialTimes(n);
        for (let i = 0; i < n; i++) heap.push(times[i], i);
        k = 0;
      },
      onComplete: () => {
        heap = undefined;
      },
    },
  );

  let sim: Simulation | undefined;
  let j = 0;
  suite.add(
    `Simulation step (handler schedules the next), ${label(n)} pending`,
    () => {
      (sim as Simulation).step();
    },
    {
      maxTime: MAX_TIME,
      onStart: () => {
        const s = new Simulation();
        const hold: HandlerId = s.on((arg) => {
          s.schedule(inc[j++ & MASK], hold, arg);
        });
        const times = initialTimes(n);
        for (let i = 0; i < n; i++) s.schedule(times[i], hold, i);
        j = 0;
        sim = s;
      },
      onComplete: () => {
        sim = undefined;
      },
    },
  );
  // The hot path: run() firing handlers back to back. stop() after BATCH events ends each op.
  let batchSim: Simulation | undefined;
  let b = 0;
  let fired = 0;
  suite.add(
    `Simulation run, ${BATCH} events per op, ${label(n)} pending`,
    () => {
      (batchSim as Simulation).run();
    },
    {
      maxTime: MAX_TIME,
      onStart: () => {
        const s = new Simulation();
        const hold: HandlerId = s.on((arg) => {
          s.schedule(inc[b++ & MASK], hold, arg);
          if (++fired === BATCH) {
            fired = 0;
            s.stop();
          }
        });
        const times = initialTimes(n);
        for (let i = 0; i < n; i++) s.schedule(times[i], hold, i);
        b = 0;
        fired = 0;
        batchSim = s;
      },
      onComplete: () => {
        batchSim = undefined;
      },
    },
  );
  return suite;
}

export function createSuites(): Benchmark.Suite[] {
  const inc = increments();
  return SIZES.map((n) => heapSuite(n, inc));
}
