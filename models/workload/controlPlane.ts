/**
 * The cluster while it runs: pods that start, become ready, terminate and go; the EndpointSlice
 * controller that reflects them after its delay; each node's watch that delivers slices after
 * its own delay; and kube-proxy's sync loop on every node that programs the node's data plane
 * from what that node has seen. Nodes therefore disagree for a while after every change —
 * which is exactly where a rollout's errors come from.
 */
import type { Distribution } from "../../sim/distributions.js";
import { parseDistribution } from "../../sim/distributions.js";
import type { HandlerId, Simulation } from "../../sim/engine.js";
import { LogHistogram } from "../../sim/histogram.js";
import type { RandomStreams, Rng } from "../../sim/random.js";
import { NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";
import { endpointSlicesForService } from "../cluster/endpointSlices.js";
import { PodFactory, replicaSetOf } from "../cluster/pods.js";
import type { PodState, ResolvedCluster, ResolvedDeployment } from "../cluster/resolved.js";
import { matchesServiceSelector } from "../cluster/selectors.js";
import type { ClusterState, EndpointSliceState, ServiceState } from "../cluster/types.js";
import { parseIPv4 } from "../network/ip.js";
import { ConntrackTable, conntrackMax } from "../proxy/conntrack.js";
import type { CostProfile } from "../proxy/cost.js";
import { getProxyMode } from "../proxy/modes.js";
import { KubeProxySync } from "../proxy/sync.js";
import type { ProxyMode, ProxyModeName } from "../proxy/types.js";
import { PodRuntime, QUEUE_LIMIT_ANNOTATION } from "./pods.js";

export interface ControlPlaneOptions {
  mode: ProxyModeName;
  profile: CostProfile;
  minSyncPeriod: Nanos;
  syncPeriod: Nanos;
  /** false: every sync is a full one (iptables before KEP-3453). */
  partialSyncs: boolean;
  /** Service time of pods whose template has no svcsim.dev/service-time. */
  defaultServiceTime: string;
  /** The app's in-flight work is killed at the grace deadline: the traffic layer fails it. */
  onPodKilled: (pod: PodRuntime) => void;
}

export interface NodeRuntime {
  index: number;
  name: string;
  zone: string;
  ip: number;
  /** The EndpointSlices this node's kube-proxy has received, per Service "ns/name". */
  view: Map<string, EndpointSliceState[]>;
  /** Time of the last watch delivery, so deliveries to one node stay in order. */
  lastDelivery: Nanos;
  sync: KubeProxySync;
  conntrack: ConntrackTable;
  failed: boolean;
}

interface SliceDelivery {
  node: NodeRuntime;
  serviceKey: string;
  slices: EndpointSliceState[];
  triggeredAt: Nanos;
}

/**
 * From the app's exit to the pod's removal: the kubelet stops the sandbox, releases its IP and
 * the API server deletes the pod object. Meanwhile the address answers with RST.
 */
const SANDBOX_TEARDOWN: Nanos = NS_PER_S;

/** The kubelet's CrashLoopBackOff: 10 s after the first crash, doubling, capped at 5 minutes. */
const CRASH_BACKOFF_FIRST: Nanos = 10 * NS_PER_S;
const CRASH_BACKOFF_MAX: Nanos = 300 * NS_PER_S;

const serviceKeyOf = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;

export class DynamicCluster {
  readonly nodes: NodeRuntime[] = [];
  readonly nodeByName = new Map<string, NodeRuntime>();
  readonly pods: PodRuntime[] = [];
  readonly podByIP = new Map<number, PodRuntime>();
  readonly services: ServiceState[];
  readonly serviceByKey = new Map<string, ServiceState>();
  /** Network programming latency of every change on every node, seconds. */
  readonly programming = new LogHistogram({ relativeError: 0.001 });
  readonly proxyMode: ProxyMode;
  /** Deployments by "ns/name", with the revision a rollout has reached. */
  readonly deployments = new Map<string, { resolved: ResolvedDeployment; revision: number }>();

  private readonly podFactory: PodFactory;
  /** Services each pod's labels match (by index into `services`), and the pods of each Service. */
  private readonly servicesOfPod = new Map<PodRuntime, number[]>();
  private readonly podsOfService: PodRuntime[][];
  /** The controller's slices per Service, and the oldest change not yet reflected. */
  private readonly slices = new Map<string, EndpointSliceState[]>();
  private readonly pendingTrigger = new Map<string, Nanos>();
  private readonly podStartup: Distribution;
  private readonly podToSlice: Distribution;
  private readonly sliceToNode: Distribution;
  private readonly rng: Rng;
  private readonly serviceTimes = new Map<string, Distribution>();

  private readonly hSliceUpdate: HandlerId<string>;
  private readonly hDeliver: HandlerId<SliceDelivery>;
  private readonly hStarted: HandlerId<PodRuntime>;
  private readonly hReady: HandlerId<PodRuntime>;
  private readonly hSigterm: HandlerId<PodRuntime>;
  private readonly hGraceOver: HandlerId<PodRuntime>;
  private readonly hGone: HandlerId<PodRuntime>;
  private readonly hCrash: HandlerId<PodRuntime>;
  private readonly hRestart: HandlerId<PodRuntime>;
  /** Callbacks for pods becoming ready (the Deployment controller's rollout waits on them). */
  readonly readyListeners: ((pod: PodRuntime) => void)[] = [];
  /** Callbacks for every slice update the controller publishes (the cluster DNS reads them). */
  readonly sliceListeners: ((serviceKey: string, slices: readonly EndpointSliceState[]) => void)[] = [];

  constructor(
    private readonly sim: Simulation,
    streams: RandomStreams,
    readonly resolved: ResolvedCluster,
    private readonly options: ControlPlaneOptions,
  ) {
    const cp = resolved.config.controlPlane;
    this.podStartup = parseDistribution(cp.podStartup, "controlPlane.podStartup");
    this.podToSlice = parseDistribution(cp.podToSlice, "controlPlane.podToSlice");
    this.sliceToNode = parseDistribution(cp.sliceToNode, "controlPlane.sliceToNode");
    this.rng = streams.get("control-plane");
    this.proxyMode = getProxyMode(options.mode);
    this.services = resolved.state.services;
    this.podsOfService = this.services.map(() => []);
    for (const s of this.services) this.serviceByKey.set(serviceKeyOf(s), s);
    for (const d of resolved.deployments) {
      this.deployments.set(`${d.spec.metadata.namespace}/${d.spec.metadata.name}`, { resolved: d, revision: 0 });
    }

    this.hSliceUpdate = sim.on<string>((_, key) => this.publishSlices(key));
    this.hDeliver = sim.on<SliceDelivery>((_, d) => this.deliver(d));
    this.hStarted = sim.on<PodRuntime>((_, pod) => this.containersStarted(pod));
    this.hReady = sim.on<PodRuntime>((_, pod) => this.setReady(pod, true));
    this.hSigterm = sim.on<PodRuntime>((_, pod) => this.sigterm(pod));
    this.hGraceOver = sim.on<PodRuntime>((_, pod) => this.graceOver(pod));
    this.hGone = sim.on<PodRuntime>((_, pod) => this.gone(pod));
    this.hCrash = sim.on<PodRuntime>((_, pod) => this.crash(pod));
    this.hRestart = sim.on<PodRuntime>((_, pod) => this.containersStarted(pod));

    // The scenario starts in a steady state: pods running and ready, slices published, every
    // node's rules in sync with them.
    this.podFactory = new PodFactory(resolved.nodes, resolved.podIPs);
    for (const pod of resolved.pods) {
      this.podFactory.adopt(pod);
      const rt = this.addPod(pod);
      if (pod.phase === "Running" && pod.ip !== null) {
        rt.phase = "running";
        rt.setReady(pod.ready, 0);
      }
    }
    for (const slice of resolved.state.endpointSlices) {
      const key = `${slice.namespace}/${slice.serviceName}`;
      const list = this.slices.get(key);
      if (list) list.push(slice);
      else this.slices.set(key, [slice]);
    }
    const kp = resolved.config.kubeProxy;
    const ct = kp.conntrack;
    const conntrackOptions = {
      maxEntries: conntrackMax(ct.coresPerNode, ct.maxPerCore, ct.min),
      timeouts: {
        TCP_ESTABLISHED: ct.tcpEstablishedTimeout,
        TCP_CLOSE_WAIT: ct.tcpCloseWaitTimeout,
        TCP_TIME_WAIT: ct.tcpTimeWaitTimeout,
        UDP_UNREPLIED: ct.udpTimeout,
        UDP_REPLIED: ct.udpTimeout,
        UDP_STREAM: ct.udpStreamTimeout,
      },
    };
    const syncRng = streams.get("kube-proxy/sync");
    resolved.nodes.forEach((n, index) => {
      const node: NodeRuntime = {
        index,
        name: n.name,
        zone: n.zone,
        ip: parseIPv4(n.ip),
        view: new Map(this.slices),
        lastDelivery: 0,
        sync: undefined as unknown as KubeProxySync,
        conntrack: new ConntrackTable(conntrackOptions),
        failed: false,
      };
      node.sync = new KubeProxySync(sim, {
        mode: options.mode,
        nodeName: n.name,
        profile: options.profile,
        minSyncPeriod: options.minSyncPeriod,
        syncPeriod: options.syncPeriod,
        partialSyncs: options.partialSyncs,
        // A periodic sync with nothing changed rewrites the same rules: the plane is the same.
        compile: (ctx) =>
          ctx.changedServices.size === 0 && ctx.previous.nodeName === n.name
            ? ctx.previous
            : this.proxyMode.compile(
                this.stateSeenBy(node),
                { nodeName: n.name, clusterCIDR: resolved.state.clusterCIDR, ipvsScheduler: kp.ipvsScheduler },
                { plane: ctx.previous, changedServices: ctx.changedServices },
              ),
        serviceCount: () => this.services.length,
        rng: syncRng,
        latency: this.programming,
        // Nodes' periodic full syncs are out of phase, as on a real cluster.
        firstFullSyncAt: Math.round(syncRng.next() * options.syncPeriod),
      });
      this.nodes.push(node);
      this.nodeByName.set(n.name, node);
    });
  }

  /** The cluster state as one node's kube-proxy has received it. */
  stateSeenBy(node: NodeRuntime): ClusterState {
    const endpointSlices: EndpointSliceState[] = [];
    for (const list of node.view.values()) for (const s of list) endpointSlices.push(s);
    const st = this.resolved.state;
    return { clusterCIDR: st.clusterCIDR, serviceClusterIPRange: st.serviceClusterIPRange, nodes: st.nodes, services: st.services, endpointSlices };
  }

  private serviceTimeOf(pod: PodState): Distribution {
    const text = pod.spec.serviceTime ?? this.options.defaultServiceTime;
    let d = this.serviceTimes.get(text);
    if (!d) {
      d = parseDistribution(text, "svcsim.dev/service-time");
      this.serviceTimes.set(text, d);
    }
    return d;
  }

  private addPod(pod: PodState): PodRuntime {
    const nodeIndex = pod.nodeName === null ? -1 : this.resolved.nodes.findIndex((n) => n.name === pod.nodeName);
    const limitText = pod.annotations[QUEUE_LIMIT_ANNOTATION];
    const queueLimit = limitText === undefined ? Number.POSITIVE_INFINITY : Number(limitText);
    const rt = new PodRuntime(
      this.pods.length,
      pod,
      pod.ip === null ? -1 : parseIPv4(pod.ip),
      nodeIndex,
      this.serviceTimeOf(pod),
      pod.spec.concurrency,
      queueLimit,
      pod.owner ? `${pod.namespace}/${pod.owner.deployment}` : "",
    );
    this.pods.push(rt);
    if (rt.ip >= 0) this.podByIP.set(rt.ip, rt);
    const matched: number[] = [];
    this.services.forEach((s, i) => {
      if (s.selector !== null && s.namespace === pod.namespace && matchesServiceSelector(s.selector, pod.labels)) {
        matched.push(i);
        this.podsOfService[i].push(rt);
      }
    });
    this.servicesOfPod.set(rt, matched);
    return rt;
  }

  /** Pods of a Deployment that are not being deleted, oldest first. */
  livePodsOf(deploymentKey: string): PodRuntime[] {
    return this.pods.filter((p) => p.group === deploymentKey && p.deletedAt < 0 && p.phase !== "gone");
  }

  // ---------------------------------------------------------------- pod lifecycle

  /** The ReplicaSet controller creates a pod of the Deployment's current revision. */
  createPod(deploymentKey: string): PodRuntime | null {
    const d = this.deployments.get(deploymentKey);
    if (!d) return null;
    const rs = d.revision === 0 ? d.resolved : { ...d.resolved, ...replicaSetOf(d.resolved.spec, d.revision) };
    const state = this.podFactory.createPod(rs, { startedAtMs: this.resolved.applyTimeMs + this.sim.now / 1e6, ready: false });
    const pod = this.addPod(state);
    if (state.phase === "Running") {
      pod.lifecycleEvents.push(this.sim.schedule(this.podStartup.sample(this.rng), this.hStarted, 0, pod));
    }
    return pod;
  }

  private containersStarted(pod: PodRuntime): void {
    if (pod.deletedAt >= 0) return;
    pod.phase = "running";
    if (pod.crashAfter >= 0) pod.lifecycleEvents.push(this.sim.schedule(pod.crashAfter, this.hCrash, 0, pod));
    const probe = pod.state.spec.containers.find((c) => c.readinessProbe)?.readinessProbe;
    if (!probe) {
      this.setReady(pod, true);
      return;
    }
    // The first probe runs after initialDelaySeconds, then every periodSeconds; the pod is
    // Ready after successThreshold consecutive successes (the app answers once started).
    const delay = (probe.initialDelaySeconds + (probe.successThreshold - 1) * probe.periodSeconds) * NS_PER_S;
    pod.lifecycleEvents.push(this.sim.schedule(delay, this.hReady, 0, pod));
  }

  private setReady(pod: PodRuntime, ready: boolean): void {
    if (pod.deletedAt >= 0 || pod.ready === ready) return;
    pod.setReady(ready, this.sim.now);
    this.podChanged(pod);
    if (ready) for (const l of this.readyListeners) l(pod);
  }

  /** From now on the pod's app crashes `runFor` after every start (the first time: now). */
  startCrashLoop(pod: PodRuntime, runFor: Nanos): void {
    if (pod.deletedAt >= 0 || pod.phase === "gone") return;
    pod.crashAfter = runFor;
    if (pod.phase === "running") this.crash(pod);
  }

  /**
   * The container exits: work in hand is lost, the kubelet marks the pod not ready at once, and
   * restarts the container after CrashLoopBackOff: 10 s, doubling, at most 5 min.
   */
  private crash(pod: PodRuntime): void {
    if (pod.phase !== "running" || pod.deletedAt >= 0) return;
    this.options.onPodKilled(pod);
    pod.phase = "crashed";
    this.setReady(pod, false);
    const backoff = Math.min(CRASH_BACKOFF_MAX, CRASH_BACKOFF_FIRST * 2 ** pod.restarts);
    pod.restarts++;
    for (const ev of pod.lifecycleEvents) this.sim.cancel(ev);
    pod.lifecycleEvents = [this.sim.schedule(backoff, this.hRestart, 0, pod)];
  }

  /**
   * The API server marks the pod for deletion: it leaves the ready endpoints (terminating), its
   * preStop hook runs, then SIGTERM, then the grace deadline kills whatever remains.
   */
  deletePod(pod: PodRuntime): void {
    if (pod.deletedAt >= 0 || pod.phase === "gone") return;
    const now = this.sim.now;
    pod.deletedAt = now;
    for (const ev of pod.lifecycleEvents) this.sim.cancel(ev);
    pod.lifecycleEvents = [];
    if (!pod.alive) {
      this.gone(pod);
      return;
    }
    pod.state.terminating = true;
    pod.servingUntil = Math.min(pod.servingUntil, now);
    pod.phase = "prestop";
    this.podChanged(pod);
    const spec = pod.state.spec;
    const grace = spec.terminationGracePeriodSeconds * NS_PER_S;
    const preStop = Math.max(0, ...spec.containers.map((c) => c.preStop?.sleepSeconds ?? 0)) * NS_PER_S;
    pod.lifecycleEvents.push(this.sim.schedule(Math.min(preStop, grace), this.hSigterm, 0, pod));
    pod.lifecycleEvents.push(this.sim.schedule(grace, this.hGraceOver, 0, pod));
  }

  private sigterm(pod: PodRuntime): void {
    if (pod.phase !== "prestop") return;
    pod.phase = "draining";
    if (pod.inFlight === 0) this.exited(pod);
  }

  /** The traffic layer tells when a pod finished a job, so a draining pod can exit. */
  jobFinished(pod: PodRuntime): void {
    if (pod.phase === "draining" && pod.inFlight === 0) this.exited(pod);
  }

  /** The app exited; the kubelet tears the sandbox down, then the pod is gone. */
  private exited(pod: PodRuntime): void {
    pod.phase = "exited";
    for (const ev of pod.lifecycleEvents) this.sim.cancel(ev);
    pod.lifecycleEvents = [this.sim.schedule(SANDBOX_TEARDOWN, this.hGone, 0, pod)];
  }

  private graceOver(pod: PodRuntime): void {
    if (pod.phase === "gone" || pod.phase === "exited") return;
    this.options.onPodKilled(pod);
    this.exited(pod);
  }

  private gone(pod: PodRuntime): void {
    if (pod.phase === "gone") return;
    pod.phase = "gone";
    pod.setReady(false, this.sim.now);
    for (const ev of pod.lifecycleEvents) this.sim.cancel(ev);
    pod.lifecycleEvents = [];
    // The pod object is deleted: its endpoint leaves the slices. Its IP is not handed to a new
    // pod within the run, so stale rules lead to a dead address rather than a stranger.
    pod.state.phase = "Succeeded";
    this.podChanged(pod);
  }

  /**
   * A node fails: its pods stop answering at once, but the API still shows them Ready until the
   * node controller notices (markNodePodsNotReady, after node-monitor-grace-period), so the
   * data planes keep sending connections to them until then.
   */
  failNode(nodeName: string): void {
    const node = this.nodeByName.get(nodeName);
    if (!node || node.failed) return;
    node.failed = true;
    this.podFactory.unschedulable.add(nodeName);
    for (const pod of this.pods) {
      if (pod.state.nodeName !== nodeName || pod.phase === "gone") continue;
      this.options.onPodKilled(pod);
      for (const ev of pod.lifecycleEvents) this.sim.cancel(ev);
      pod.lifecycleEvents = [];
      pod.nodeDown = true;
      pod.servingUntil = Math.min(pod.servingUntil, this.sim.now);
    }
  }

  /** The node controller marks a failed node's pods not ready: they leave the ready endpoints. */
  markNodePodsNotReady(nodeName: string): void {
    for (const pod of this.pods) {
      if (pod.state.nodeName !== nodeName || !pod.state.ready) continue;
      pod.setReady(false, this.sim.now);
      this.podChanged(pod);
    }
  }

  // ---------------------------------------------------------------- endpoint slices

  private podChanged(pod: PodRuntime): void {
    const now = this.sim.now;
    for (const i of this.servicesOfPod.get(pod) ?? []) {
      const key = serviceKeyOf(this.services[i]);
      if (this.pendingTrigger.has(key)) continue;
      this.pendingTrigger.set(key, now);
      this.sim.schedule(this.podToSlice.sample(this.rng), this.hSliceUpdate, 0, key);
    }
  }

  private publishSlices(key: string): void {
    const triggeredAt = this.pendingTrigger.get(key) ?? this.sim.now;
    this.pendingTrigger.delete(key);
    const svc = this.serviceByKey.get(key);
    if (!svc) return;
    const index = this.services.indexOf(svc);
    // Drop pods that are gone for good, so the list does not grow with every rollout.
    const live = this.podsOfService[index].filter((p) => p.phase !== "gone");
    this.podsOfService[index] = live;
    const candidates = live.map((p) => p.state);
    const slices = endpointSlicesForService(svc, candidates, { zoneOf: (n) => this.nodeByName.get(n)?.zone });
    this.slices.set(key, slices);
    for (const l of this.sliceListeners) l(key, slices);
    for (const node of this.nodes) {
      const at = Math.max(this.sim.now + this.sliceToNode.sample(this.rng), node.lastDelivery);
      node.lastDelivery = at;
      this.sim.scheduleAt(at, this.hDeliver, 0, { node, serviceKey: key, slices, triggeredAt });
    }
  }

  private deliver(d: SliceDelivery): void {
    d.node.view.set(d.serviceKey, d.slices);
    if (!d.node.failed) d.node.sync.notifyChange(d.triggeredAt, [d.serviceKey]);
  }

  /** Whether `node` passes a Local-policy health check for the Service (a ready local endpoint in its view). */
  hasLocalReadyEndpoint(node: NodeRuntime, serviceKey: string): boolean {
    for (const slice of node.view.get(serviceKey) ?? []) {
      for (const ep of slice.endpoints) if (ep.nodeName === node.name && ep.conditions.ready) return true;
    }
    return false;
  }

  /** Current slices for a Service, as the controller has published them (DNS answers from these). */
  publishedSlices(serviceKey: string): readonly EndpointSliceState[] {
    return this.slices.get(serviceKey) ?? [];
  }

  /** The Deployment controller moves to a new template revision (a rollout). */
  bumpRevision(deploymentKey: string): void {
    const d = this.deployments.get(deploymentKey);
    if (d) d.revision++;
  }
}
