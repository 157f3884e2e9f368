/**
 * A pod as a server: `concurrency` workers in front of a FIFO queue (bounded by
 * `svcsim.dev/queue-limit`; overflow answers 503), service times from
 * `svcsim.dev/service-time`, and the lifecycle flags the kubelet and the app drive:
 * `alive` (the pod IP answers at all), `accepting` (the app accepts new connections; false
 * after SIGTERM), and the readiness the control plane publishes.
 */
import type { Distribution } from "../../sim/distributions.js";
import type { EventId } from "../../sim/engine.js";
import type { Nanos } from "../../sim/time.js";
import type { PodState } from "../cluster/resolved.js";

export const QUEUE_LIMIT_ANNOTATION = "svcsim.dev/queue-limit";

export type PodPhase =
  /** Created; containers not started yet. */
  | "starting"
  /** Containers running; readiness per probes. */
  | "running"
  /** Deleted; preStop hook running (the app still serves). */
  | "prestop"
  /** SIGTERM sent: the app refuses new connections, finishes what it has. */
  | "draining"
  /**
   * The app has exited; the pod sandbox (its network namespace) is still being torn down, so
   * the kernel answers connection attempts with RST.
   */
  | "exited"
  /**
   * The container crashed and waits out the kubelet's back-off: the sandbox keeps the IP, so
   * connections are refused; it is not ready.
   */
  | "crashed"
  /** Gone: the IP does not answer. */
  | "gone";

/** A unit of work at a pod: the request flow's object, opaque here. */
export interface PodJob {
  /** When the job entered the pod's queue. */
  queuedAt: Nanos;
}

export class PodRuntime<J extends PodJob = PodJob> {
  readonly index: number;
  readonly state: PodState;
  readonly ip: number;
  readonly nodeIndex: number;
  readonly serviceTime: Distribution;
  readonly concurrency: number;
  readonly queueLimit: number;
  /** "namespace/deployment" or "" for a pod without an owner. */
  readonly group: string;

  phase: PodPhase = "starting";
  /** Ready condition as the kubelet reports it (probes passing, not terminating). */
  ready = false;
  /** When the pod last became a ready endpoint, and when it stopped being one (for fairness windows). */
  readySince: Nanos = -1;
  servingUntil: Nanos = Number.POSITIVE_INFINITY;
  busy = 0;
  /** Jobs waiting for a worker, FIFO (array with a moving head; compacted when half empty). */
  private queue: J[] = [];
  private head = 0;
  /** Jobs in service, for killing them at the end of the grace period. */
  readonly inService = new Set<J>();
  /** Pending lifecycle events (probe, preStop end, grace deadline), to cancel on deletion. */
  lifecycleEvents: EventId[] = [];
  deletedAt: Nanos = -1;
  /** Its node has failed: the pod does not answer, though the API may still call it Ready. */
  nodeDown = false;
  /** A crash loop: how long the app runs after each start (ns), and the restarts so far. */
  crashAfter: Nanos = -1;
  restarts = 0;

  // Measurements (after warm-up).
  requests = 0;
  busyNs = 0;
  /** Requests completed per fairness window. */
  readonly windowRequests: number[] = [];

  constructor(
    index: number,
    state: PodState,
    ip: number,
    nodeIndex: number,
    serviceTime: Distribution,
    concurrency: number,
    queueLimit: number,
    group: string,
  ) {
    this.index = index;
    this.state = state;
    this.ip = ip;
    this.nodeIndex = nodeIndex;
    this.serviceTime = serviceTime;
    this.concurrency = concurrency;
    this.queueLimit = queueLimit;
    this.group = group;
  }

  get alive(): boolean {
    return this.phase !== "starting" && this.phase !== "gone" && !this.nodeDown;
  }

  /** Whether the app accepts a new connection now. */
  get accepting(): boolean {
    return (this.phase === "running" || this.phase === "prestop") && !this.nodeDown;
  }

  /** Sets the Ready condition at `now`, keeping the interval it holds for. */
  setReady(ready: boolean, now: Nanos): void {
    if (ready && !this.ready) {
      this.readySince = now;
      this.servingUntil = Number.POSITIVE_INFINITY;
    } else if (!ready && this.ready) {
      this.servingUntil = now;
    }
    this.ready = ready;
    this.state.ready = ready;
  }

  /** Whether the pod was a ready endpoint at time `t`. */
  readyAt(t: Nanos): boolean {
    return this.readySince >= 0 && this.readySince <= t && t < this.servingUntil;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Jobs at the pod: queued or in service. */
  get inFlight(): number {
    return this.queued + this.busy;
  }

  /** Whether a new job can start now, wait in the queue, or must be refused (503). */
  admit(): "start" | "queue" | "overflow" {
    if (this.busy < this.concurrency) return "start";
    return this.queued < this.queueLimit ? "queue" : "overflow";
  }

  enqueue(job: J): void {
    this.queue.push(job);
  }

  dequeue(): J | undefined {
    if (this.head >= this.queue.length) return undefined;
    const job = this.queue[this.head];
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return job;
  }

  /** Removes and returns every queued job (the pod is killed). */
  drainQueue(): J[] {
    const jobs = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    return jobs;
  }
}
