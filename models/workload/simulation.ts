/**
 * One replication of a scenario: the cluster, its kube-proxies, the clients and the churn on
 * one event engine, then the measurements as metrics (summary) and per-pod rows.
 */
import { Simulation } from "../../sim/engine.js";
import { coefficientOfVariation, gini, jainIndex, maxOverMean } from "../../sim/fairness.js";
import type { RandomStreams } from "../../sim/random.js";
import { NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";
import type { ResolvedCluster } from "../cluster/resolved.js";
import { NetworkModel } from "../network/latency.js";
import type { CostProfile } from "../proxy/cost.js";
import type { ProxyModeName } from "../proxy/types.js";
import type { Scenario } from "../scenario/types.js";
import { Churn } from "./churn.js";
import { DynamicCluster } from "./controlPlane.js";
import { DnsClient } from "./dns.js";
import { ERROR_CAUSES, WorkloadMetrics } from "./metrics.js";
import type { PodRuntime } from "./pods.js";
import { Traffic } from "./traffic.js";

export interface ScenarioRunOptions {
  /** Overrides the Cluster's kubeProxy.mode. */
  mode?: ProxyModeName;
  minSyncPeriod?: Nanos;
  syncPeriod?: Nanos;
  partialSyncs?: boolean;
  /** Width of the windows fairness is computed over; default 1 s. */
  fairnessWindow?: Nanos;
  /** Service time of pods without svcsim.dev/service-time. */
  defaultServiceTime?: string;
}

export type Metrics = Record<string, number>;

export interface PodResult {
  pod: string;
  node: string;
  group: string;
  metrics: Metrics;
}

export interface ScenarioRunResult {
  summary: Metrics;
  pods: PodResult[];
  /** Jain's index over the served pods per fairness window (after warm-up), in time order. */
  jainOverTime: number[];
}

const SYSTEM_NAMESPACE = "kube-system";

/**
 * Simulates `resolved` (a fresh resolveCluster of `scenario`: the run mutates its pods and
 * allocators) for the scenario's duration.
 */
export function simulateScenario(
  scenario: Scenario,
  resolved: ResolvedCluster,
  profile: CostProfile,
  streams: RandomStreams,
  options: ScenarioRunOptions = {},
): ScenarioRunResult {
  const sim = new Simulation();
  const { duration, warmup } = scenario.run;
  const kp = resolved.config.kubeProxy;
  const metrics = new WorkloadMetrics(warmup);
  const fairnessWindow = options.fairnessWindow ?? NS_PER_S;
  let traffic: Traffic | undefined;
  const cluster = new DynamicCluster(sim, streams, resolved, {
    mode: options.mode ?? kp.mode,
    profile,
    minSyncPeriod: options.minSyncPeriod ?? kp.minSyncPeriod,
    syncPeriod: options.syncPeriod ?? kp.syncPeriod,
    partialSyncs: options.partialSyncs ?? true,
    defaultServiceTime: options.defaultServiceTime ?? "exp(1ms)",
    onPodKilled: (pod) => traffic?.podKilled(pod),
  });
  const network = new NetworkModel(
    resolved.config.network,
    resolved.nodes.map((n) => n.zone),
    streams.get("network"),
  );
  const dns = new DnsClient({ cluster, network, profile, streams, metrics }, () => sim.now);
  cluster.sliceListeners.push((key, slices) => dns.setServiceSlices(key, slices));
  traffic = new Traffic({
    sim,
    streams,
    cluster,
    network,
    metrics,
    profile,
    dns,
    clients: scenario.workload.clients,
    duration,
    fairnessWindow,
  });
  const churn = new Churn(sim, cluster, streams.get("churn"), duration);
  churn.schedule(scenario.churn);
  traffic.start();
  sim.run(duration);
  traffic.finish();

  return {
    summary: summarize(metrics, cluster, duration, warmup),
    pods: cluster.pods.map((p) => podResult(p, duration - warmup)),
    jainOverTime: jainOverTime(podsOfServedGroups(cluster.pods), warmup, fairnessWindow, Math.ceil((duration - warmup) / fairnessWindow)),
  };
}

/** Every pod, gone or not, of the Deployments that served measured requests (the cluster's DNS aside). */
function podsOfServedGroups(pods: readonly PodRuntime[]): PodRuntime[] {
  const groups = new Set(pods.filter((p) => p.requests > 0 && p.state.namespace !== SYSTEM_NAMESPACE).map((p) => p.group));
  return pods.filter((p) => groups.has(p.group));
}

/** Those of them that served, or are still there at the end: the pods whole-run fairness is over. */
function servedPods(pods: readonly PodRuntime[]): PodRuntime[] {
  return podsOfServedGroups(pods).filter((p) => p.requests > 0 || p.phase !== "gone");
}

/** Jain's index per window over the pods that were ready endpoints at the window's start or served in it. */
function jainOverTime(pods: readonly PodRuntime[], warmup: Nanos, width: Nanos, windows: number): number[] {
  const out: number[] = [];
  for (let w = 0; w < windows; w++) {
    const start = warmup + w * width;
    const loads = pods.filter((p) => p.readyAt(start) || (p.windowRequests[w] ?? 0) > 0).map((p) => p.windowRequests[w] ?? 0);
    out.push(loads.length > 0 ? jainIndex(loads) : Number.NaN);
  }
  return out;
}

function podResult(p: PodRuntime, measuredNs: Nanos): PodResult {
  const busy = p.busyNs / NS_PER_S;
  return {
    pod: `${p.state.namespace}/${p.state.name}`,
    node: p.state.nodeName ?? "",
    group: p.group,
    metrics: {
      requests: p.requests,
      busy_s: busy,
      utilization: measuredNs > 0 ? busy / ((measuredNs / NS_PER_S) * p.concurrency) : Number.NaN,
    },
  };
}

function summarize(m: WorkloadMetrics, cluster: DynamicCluster, duration: Nanos, warmup: Nanos): Metrics {
  const measuredS = (duration - warmup) / NS_PER_S;
  const served = servedPods(cluster.pods);
  const loads = served.map((p) => p.requests);
  const failed = m.failed;
  const out: Metrics = {
    requests: m.requests,
    throughput_rps: m.succeeded / measuredS,
    error_rate: m.requests > 0 ? failed / m.requests : Number.NaN,
    errors: failed,
  };
  for (const cause of ERROR_CAUSES) out[`errors_${cause}`] = m.errors[cause];
  Object.assign(out, {
    mean_latency_s: m.latency.count > 0 ? m.latency.mean : Number.NaN,
    p50_latency_s: m.latency.count > 0 ? m.latency.quantile(0.5) : Number.NaN,
    p90_latency_s: m.latency.count > 0 ? m.latency.quantile(0.9) : Number.NaN,
    p99_latency_s: m.latency.count > 0 ? m.latency.quantile(0.99) : Number.NaN,
    mean_pool_wait_s: m.poolWait.count > 0 ? m.poolWait.mean : Number.NaN,
    mean_dns_s: m.dns.count > 0 ? m.dns.mean : Number.NaN,
    mean_connect_s: m.connect.count > 0 ? m.connect.mean : Number.NaN,
    mean_network_s: m.network.count > 0 ? m.network.mean : Number.NaN,
    mean_queue_s: m.queue.count > 0 ? m.queue.mean : Number.NaN,
    mean_service_s: m.service.count > 0 ? m.service.mean : Number.NaN,
    first_packet_p50_s: m.firstPacket.count > 0 ? m.firstPacket.quantile(0.5) : Number.NaN,
    first_packet_p99_s: m.firstPacket.count > 0 ? m.firstPacket.quantile(0.99) : Number.NaN,
    jain_index: loads.length > 0 ? jainIndex(loads) : Number.NaN,
    cov_load: loads.length > 0 ? coefficientOfVariation(loads) : Number.NaN,
    max_over_mean_load: loads.length > 0 ? maxOverMean(loads) : Number.NaN,
    gini_load: loads.length > 0 ? gini(loads) : Number.NaN,
    pods_served: loads.filter((l) => l > 0).length,
    retries: m.retries,
    connections: m.connections,
    snat_fraction: m.connections > 0 ? m.snatConnections / m.connections : Number.NaN,
    dns_queries_per_lookup: m.dnsLookups > 0 ? m.dnsQueries / m.dnsLookups : Number.NaN,
  });
  const programming = cluster.programming;
  let syncs = 0;
  let busy = 0;
  let conntrackPeak = 0;
  let conntrackDrops = 0;
  for (const n of cluster.nodes) {
    const st = n.sync.stats();
    syncs += st.syncs;
    busy += st.busy;
    const ct = n.conntrack.stats(duration);
    conntrackPeak = Math.max(conntrackPeak, ct.peak);
    conntrackDrops += ct.drops;
  }
  Object.assign(out, {
    network_programming_p50_s: programming.count > 0 ? programming.quantile(0.5) : Number.NaN,
    network_programming_p99_s: programming.count > 0 ? programming.quantile(0.99) : Number.NaN,
    kube_proxy_syncs: syncs,
    kube_proxy_sync_busy_s_per_node: busy / NS_PER_S / Math.max(1, cluster.nodes.length),
    conntrack_peak_entries: conntrackPeak,
    conntrack_drops: conntrackDrops,
  });
  return out;
}
