/**
 * What happens to pods while traffic flows (the `Churn` kind): rolling updates as the
 * Deployment controller runs them (maxSurge / maxUnavailable, new pods must be Ready before
 * old ones go), scaling, killing pods, and nodes failing.
 */
import type { HandlerId, Simulation } from "../../sim/engine.js";
import type { Rng } from "../../sim/random.js";
import { NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";
import type { ChurnEvent, IntOrPercent } from "../scenario/types.js";
import type { DynamicCluster } from "./controlPlane.js";
import type { PodRuntime } from "./pods.js";

/** Kubernetes' rounding: maxSurge rounds up, maxUnavailable down; both 0 means 1 unavailable. */
export function rollingBounds(replicas: number, maxSurge: IntOrPercent, maxUnavailable: IntOrPercent): { surge: number; unavailable: number } {
  const resolve = (v: IntOrPercent, roundUp: boolean): number => {
    if (typeof v === "number") return v;
    const x = (Number(v.slice(0, -1)) / 100) * replicas;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  };
  const surge = resolve(maxSurge, true);
  let unavailable = resolve(maxUnavailable, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

interface Rollout {
  key: string;
  revision: number;
}

/** The node controller marks a silent node's pods not ready after this long (node-monitor-grace-period). */
export const NODE_MONITOR_GRACE = 40 * NS_PER_S;

export class Churn {
  private readonly hEvent: HandlerId<ChurnEvent>;
  private readonly hNotReady: HandlerId<string>;
  /** Desired replicas per Deployment (scale changes it). */
  private readonly replicas = new Map<string, number>();
  private readonly rollouts = new Map<string, Rollout>();
  private readonly revisionOf = new Map<PodRuntime, number>();

  constructor(
    private readonly sim: Simulation,
    private readonly cluster: DynamicCluster,
    private readonly rng: Rng,
    private readonly duration: Nanos,
  ) {
    this.hEvent = sim.on<ChurnEvent>((_, e) => this.fire(e));
    this.hNotReady = sim.on<string>((_, node) => this.cluster.markNodePodsNotReady(node));
    for (const [key, d] of cluster.deployments) this.replicas.set(key, d.resolved.spec.replicas);
    for (const p of cluster.pods) this.revisionOf.set(p, 0);
    cluster.readyListeners.push((pod) => this.reconcile(pod.group));
  }

  schedule(events: readonly ChurnEvent[]): void {
    for (const e of events) if (e.at < this.duration) this.sim.scheduleAt(e.at, this.hEvent, 0, e);
  }

  private fire(e: ChurnEvent): void {
    const a = e.action;
    switch (a.type) {
      case "rollout": {
        const key = `${a.namespace}/${a.deployment}`;
        this.cluster.bumpRevision(key);
        const d = this.cluster.deployments.get(key);
        if (d) {
          this.rollouts.set(key, { key, revision: d.revision });
          if (d.resolved.spec.strategy.type === "Recreate") {
            for (const p of this.cluster.livePodsOf(key)) this.cluster.deletePod(p);
          }
          this.reconcile(key);
        }
        break;
      }
      case "kill": {
        const key = `${a.namespace}/${a.deployment}`;
        const live = this.cluster.livePodsOf(key).filter((p) => p.phase !== "starting");
        const n = a.count ?? Math.round((a.fraction ?? 0) * live.length);
        for (let i = 0; i < n && live.length > 0; i++) {
          const victim = live.splice(Math.floor(this.rng.next() * live.length), 1)[0];
          this.cluster.deletePod(victim);
        }
        this.reconcile(key);
        break;
      }
      case "scale": {
        const key = `${a.namespace}/${a.deployment}`;
        this.replicas.set(key, a.replicas);
        this.reconcile(key);
        break;
      }
      case "crashLoop": {
        const key = `${a.namespace}/${a.deployment}`;
        const live = this.cluster.livePodsOf(key).filter((p) => p.phase === "running" && p.crashAfter < 0);
        const n = a.count ?? Math.round((a.fraction ?? 0) * live.length);
        for (let i = 0; i < n && live.length > 0; i++) {
          this.cluster.startCrashLoop(live.splice(Math.floor(this.rng.next() * live.length), 1)[0], a.runFor);
        }
        break;
      }
      case "failNode": {
        this.cluster.failNode(a.node);
        this.sim.schedule(NODE_MONITOR_GRACE, this.hNotReady, 0, a.node);
        break;
      }
    }
    if (e.every !== undefined && e.every > 0 && this.sim.now + e.every < this.duration) {
      this.sim.schedule(e.every, this.hEvent, 0, e);
    }
  }

  /** The Deployment and ReplicaSet controllers, one pass: create and delete toward the desired state. */
  private reconcile(key: string): void {
    const d = this.cluster.deployments.get(key);
    if (!d) return;
    const replicas = this.replicas.get(key) ?? d.resolved.spec.replicas;
    const live = this.cluster.livePodsOf(key);
    const revision = d.revision;
    const current = live.filter((p) => (this.revisionOf.get(p) ?? 0) === revision);
    const old = live.filter((p) => (this.revisionOf.get(p) ?? 0) !== revision);
    const create = (): void => {
      const pod = this.cluster.createPod(key);
      if (pod) {
        this.revisionOf.set(pod, revision);
        current.push(pod);
      }
    };
    if (old.length === 0) {
      // No rollout in progress: a ReplicaSet keeping its count.
      while (current.length < replicas) create();
      // Scale down: not-ready pods first, then the newest.
      const victims = [...current].sort((x, y) => Number(x.ready) - Number(y.ready) || y.index - x.index);
      for (let i = 0; current.length - i > replicas; i++) this.cluster.deletePod(victims[i]);
      this.rollouts.delete(key);
      return;
    }
    const strategy = d.resolved.spec.strategy;
    if (strategy.type === "Recreate") {
      // New pods only once every old one is gone.
      if (old.every((p) => p.phase === "gone")) while (current.length < replicas) create();
      return;
    }
    const { surge, unavailable } = rollingBounds(replicas, strategy.maxSurge, strategy.maxUnavailable);
    while (current.length < replicas && current.length + old.length < replicas + surge) create();
    let canDelete = live.filter((p) => p.ready).length - (replicas - unavailable);
    // Old pods that are not ready go first: they count for nothing in availability.
    const oldSorted = [...old].sort((x, y) => Number(x.ready) - Number(y.ready));
    for (const p of oldSorted) {
      if (p.ready) {
        if (canDelete <= 0) break;
        canDelete--;
      }
      this.cluster.deletePod(p);
      old.splice(old.indexOf(p), 1);
    }
    // Deleting made room under maxSurge: create more new pods.
    while (current.length < replicas && current.length + old.length < replicas + surge) create();
  }
}
