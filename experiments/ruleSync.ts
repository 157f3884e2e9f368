/**
 * rule-sync: how long until a changed endpoint is programmed on a node (network programming
 * latency), per mode, as the number of Services grows, with full or partial syncs and
 * different minSyncPeriods — the trade-off KEP-3453 measured.
 *
 * One node's kube-proxy sync loop on the event engine. Endpoint changes arrive as a Poisson
 * stream, each to one Service drawn at random, and reach the node after the watch delay. An
 * endpoint flapping does not change the size of the rule set, so the node's compiled plane is
 * compiled once and stands for every sync; what varies is how much each sync writes and how
 * long the cost profile says that takes.
 */
import { parseDistribution } from "../sim/distributions.js";
import { Simulation } from "../sim/engine.js";
import { NS_PER_S } from "../sim/time.js";
import { loadCostProfile } from "../models/proxy/cost.js";
import { getProxyMode } from "../models/proxy/modes.js";
import { KubeProxySync } from "../models/proxy/sync.js";
import { syntheticCluster } from "../models/proxy/synthetic.js";
import type { CompiledDataPlane, ProxyModeName } from "../models/proxy/types.js";
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { publishedFigures } from "./reference.js";
import { ruleSyncCharts } from "./charts.js";

const profile = loadCostProfile();
/** The change's trip from the EndpointSlice controller to the node's kube-proxy. */
const WATCH_DELAY = parseDistribution("lognormal(mean=200ms,cv=0.5)");

const planes = new Map<string, { plane: CompiledDataPlane; serviceKeys: string[] }>();
function planeFor(mode: ProxyModeName, services: number, endpoints: number): { plane: CompiledDataPlane; serviceKeys: string[] } {
  const key = `${mode}/${services}/${endpoints}`;
  let entry = planes.get(key);
  if (!entry) {
    if (planes.size >= 2) planes.delete(planes.keys().next().value as string);
    const state = syntheticCluster({ services, endpointsPerService: endpoints, nodes: 10 });
    const plane = getProxyMode(mode).compile(state, { nodeName: "node-1", clusterCIDR: state.clusterCIDR });
    entry = { plane, serviceKeys: state.services.map((s) => `${s.namespace}/${s.name}`) };
    planes.set(key, entry);
  }
  return entry;
}

function simulateSyncLoop(config: Config, ctx: RunContext): Metrics {
  const mode = config.mode as ProxyModeName;
  const { plane, serviceKeys } = planeFor(mode, Number(config.services), Number(config.endpoints));
  const sim = new Simulation();
  const syncPeriod = Number(config.sync_period_s) * NS_PER_S;
  const duration = Number(config.duration_s) * NS_PER_S;
  const changes = ctx.streams.get("changes");
  const delays = ctx.streams.get("watch-delay");
  const syncRng = ctx.streams.get("sync");
  const sync = new KubeProxySync(sim, {
    mode,
    nodeName: "node-1",
    profile,
    minSyncPeriod: Number(config.min_sync_period_s) * NS_PER_S,
    syncPeriod,
    partialSyncs: config.sync === "partial",
    fullSyncPeriod: Number(config.full_sync_period_s) * NS_PER_S,
    compile: () => plane,
    initial: plane,
    serviceCount: () => serviceKeys.length,
    rng: syncRng,
    firstFullSyncAt: Math.round(syncRng.next() * Math.min(syncPeriod, Number(config.full_sync_period_s) * NS_PER_S)),
  });
  const meanGap = NS_PER_S / Number(config.change_rate);
  const hDeliver = sim.on<string>((changedAt, key) => {
    sync.notifyChange(changedAt, [key]);
  });
  const hChange = sim.on(() => {
    const key = serviceKeys[Math.floor(changes.next() * serviceKeys.length)];
    sim.schedule(WATCH_DELAY.sample(delays), hDeliver, sim.now, key);
    const gap = -Math.log(1 - changes.next()) * meanGap;
    if (sim.now + gap < duration) sim.schedule(gap, hChange);
  });
  sim.schedule(-Math.log(1 - changes.next()) * meanGap, hChange);
  // No warm-up is needed: the loop starts in sync, its periodic full syncs at a random phase.
  sim.run(duration);
  const st = sync.stats();
  const measuredS = duration / NS_PER_S;
  const q = (p: number): number => (st.networkProgramming.count > 0 ? st.networkProgramming.quantile(p) : Number.NaN);
  return {
    network_programming_p50_s: q(0.5),
    network_programming_p90_s: q(0.9),
    network_programming_p99_s: q(0.99),
    changes_programmed: st.changesProgrammed,
    syncs_per_minute: (st.syncs / measuredS) * 60,
    full_syncs: st.fullSyncs,
    sync_duration_mean_s: st.syncDuration.count > 0 ? st.syncDuration.mean : Number.NaN,
    full_sync_duration_mean_s: st.fullSyncDuration.count > 0 ? st.fullSyncDuration.mean : Number.NaN,
    partial_sync_duration_mean_s: st.partialSyncDuration.count > 0 ? st.partialSyncDuration.mean : Number.NaN,
    kube_proxy_busy_fraction: st.busy / NS_PER_S / measuredS,
  };
}

/** KEP-3453's scale test (5000 nodes, iptables): p50 network programming latency. */
async function publishedKep3453(config: Config): Promise<number | undefined> {
  if (config.mode !== "iptables") return undefined;
  const note = config.sync === "full" ? "full syncs only" : `minSyncPeriod ${config.min_sync_period_s}s`;
  return (await publishedFigures()).find((f) => f.source === "kep-3453-minimize-iptables-restore" && f.note.includes(note))?.value;
}

export const ruleSync: ExperimentDefinition = {
  name: "rule-sync",
  question: "How long until a changed endpoint is programmed on a node, full vs partial syncs, per mode?",
  params: {
    mode: { description: "kube-proxy mode", kind: "string", default: ["iptables", "ipvs", "nftables"], choices: ["iptables", "ipvs", "nftables"] },
    services: { description: "Services on the node", kind: "integer", default: [1000, 5000, 10000, 20000], min: 1, max: 100_000 },
    endpoints: { description: "endpoints per Service", kind: "integer", default: 4, min: 1, max: 1000 },
    sync: { description: "iptables: full syncs only, or partial (KEP-3453)", kind: "string", default: ["full", "partial"], choices: ["full", "partial"] },
    min_sync_period_s: { description: "kube-proxy --min-sync-period (s)", kind: "number", default: [1, 10], min: 0, max: 3600 },
    sync_period_s: { description: "kube-proxy --sync-period (s): the longest time without a sync", kind: "number", default: 30, min: 0, exclusiveMin: true, max: 86_400 },
    full_sync_period_s: {
      description: "time between full syncs under partial syncing (s): 3600 in kube-proxy 1.28+, the sync period (30) in the KEP-3453 era",
      kind: "number",
      default: 3600,
      min: 0,
      exclusiveMin: true,
      max: 86_400,
    },
    change_rate: { description: "endpoint changes per second across the cluster", kind: "number", default: 20, min: 0, exclusiveMin: true, max: 1e6 },
    duration_s: { description: "simulated time per replication (s)", kind: "number", default: 600, min: 1, max: 1e6 },
  },
  quick: { services: [1000, 10000], duration_s: 240, min_sync_period_s: 1 },
  tiny: { services: 200, duration_s: 60 },
  replications: { full: 5, quick: 3 },
  charts: ruleSyncCharts,
  validate(config) {
    getProxyMode(String(config.mode), "--set mode");
  },
  run: simulateSyncLoop,
  // Each sync walks the node's table; IPVS lists and diffs every virtual server, nftables and
  // iptables diff only what changed but build larger planes.
  cost: (config) => Number(config.services) * Number(config.duration_s) * (config.mode === "ipvs" ? 3 : config.mode === "nftables" ? 2 : 1),
  // Configs of one mode and size share the compiled plane (planeFor).
  shareKey: (config) => `${config.mode}/${config.services}/${config.endpoints}`,
  async reference(config): Promise<Metrics> {
    const p50 = await publishedKep3453(config);
    const out: Metrics = {};
    if (p50 !== undefined) out.published_kep3453_network_programming_p50_s = p50;
    return out;
  },
};
