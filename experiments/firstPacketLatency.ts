/**
 * first-packet-latency: what a new connection's first packet costs in each kube-proxy mode as
 * the number of Services grows — iptables scans KUBE-SERVICES linearly, IPVS and nftables look
 * the Service up in a hash — beside the figures published on the Kubernetes blog.
 */
import { createHash } from "node:crypto";
import { loadCostProfile } from "../models/proxy/cost.js";
import { measureFirstPackets } from "../models/proxy/firstPacket.js";
import { getProxyMode } from "../models/proxy/modes.js";
import { syntheticCluster } from "../models/proxy/synthetic.js";
import type { CompiledDataPlane, ProxyModeName } from "../models/proxy/types.js";
import type { ClusterState } from "../models/cluster/types.js";
import type { Config, ExperimentDefinition, Metrics } from "./definition.js";
import { publishedSeconds } from "./reference.js";
import { formatSeconds, summaryValue } from "./rows.js";
import { firstPacketCharts } from "./charts.js";

const profile = loadCostProfile();

/** Compiled planes are pure functions of their inputs: keep the last few across replications. */
const planes = new Map<string, { state: ClusterState; plane: CompiledDataPlane }>();

function planeFor(mode: ProxyModeName, services: number, endpoints: number, nodes: number): { state: ClusterState; plane: CompiledDataPlane } {
  const key = createHash("sha1").update(JSON.stringify([mode, services, endpoints, nodes])).digest("hex");
  let entry = planes.get(key);
  if (!entry) {
    if (planes.size >= 3) planes.delete(planes.keys().next().value as string);
    const state = syntheticCluster({ services, endpointsPerService: endpoints, nodes });
    const plane = getProxyMode(mode).compile(state, { nodeName: "node-1", clusterCIDR: state.clusterCIDR });
    entry = { state, plane };
    planes.set(key, entry);
  }
  return entry;
}

/** The published p50/p99; nftables has no 10k row, the post calls it flat across sizes. */
async function published(mode: string, services: number, percentile: string): Promise<number | undefined> {
  const exact = await publishedSeconds({ mode, metric: "first_packet_rtt", percentile, services });
  if (exact !== undefined || mode !== "nftables") return exact;
  return publishedSeconds({ mode, metric: "first_packet_rtt", percentile, services: 5000 });
}

export const firstPacketLatency: ExperimentDefinition = {
  name: "first-packet-latency",
  question: "What does a new connection's first packet cost per kube-proxy mode as Services grow?",
  params: {
    mode: { description: "kube-proxy mode", kind: "string", default: ["iptables", "ipvs", "nftables"], choices: ["iptables", "ipvs", "nftables"] },
    services: { description: "ClusterIP Services on the node", kind: "integer", default: [1000, 5000, 10000, 20000, 30000], min: 1, max: 100_000 },
    endpoints: { description: "ready endpoints per Service", kind: "integer", default: 4, min: 1, max: 1000 },
    nodes: { description: "nodes the endpoints are spread over", kind: "integer", default: 10, min: 1, max: 5000 },
    packets: { description: "new connections measured per replication", kind: "integer", default: 50_000, min: 100, max: 10_000_000 },
  },
  quick: { services: [5000, 10000, 30000], packets: 10_000 },
  tiny: { services: [100, 500], packets: 500 },
  replications: { full: 5, quick: 3 },
  charts: firstPacketCharts,
  // Compiling the node's plane (nftables' is the largest), then the packets.
  cost: (config) => Number(config.services) * Number(config.endpoints) * (config.mode === "nftables" ? 2 : 1) + Number(config.packets),
  // Replications of one config share its compiled plane (planeFor).
  shareKey: (config) => `${config.mode}/${config.services}/${config.endpoints}/${config.nodes}`,
  validate(config) {
    getProxyMode(String(config.mode), "--set mode");
  },
  run(config: Config, ctx): Metrics {
    const mode = config.mode as ProxyModeName;
    const { state, plane } = planeFor(mode, Number(config.services), Number(config.endpoints), Number(config.nodes));
    // A cached plane starts every replication as freshly compiled: IPVS's rr positions and
    // connection counts from an earlier replication must not carry over.
    plane.resetState?.();
    // Targets and jitter come from streams named without the mode: every mode sees the same
    // connections (common random numbers), so differences are the modes' own.
    const m = measureFirstPackets(plane, state, profile, Number(config.packets), ctx.streams.get("targets"), ctx.streams.get("jitter"));
    return {
      first_packet_p01_s: m.rtt.quantile(0.01),
      first_packet_p50_s: m.rtt.quantile(0.5),
      first_packet_p90_s: m.rtt.quantile(0.9),
      first_packet_p99_s: m.rtt.quantile(0.99),
      first_packet_mean_s: m.rtt.mean,
      data_plane_mean_s: m.meanDataPlaneS,
      rules_traversed_mean: m.meanWork.rulesTraversed,
      map_lookups_mean: m.meanWork.mapLookups,
    };
  },
  headlines(rows) {
    const p50 = (mode: string, services: number) => summaryValue(rows, { mode, services }, "first_packet_p50_s_mean");
    const out: string[] = [];
    const sizes = [...new Set(rows.map((r) => Number(r.services)))].sort((a, b) => a - b);
    const [small, large] = [sizes[0], sizes[sizes.length - 1]];
    for (const mode of ["iptables", "ipvs", "nftables"]) {
      const a = p50(mode, small);
      const b = p50(mode, large);
      if (Number.isFinite(a) && Number.isFinite(b)) {
        out.push(`${mode}: first-packet p50 ${formatSeconds(a)} at ${small} Services, ${formatSeconds(b)} at ${large} (×${(b / a).toFixed(1)})`);
      }
    }
    return out;
  },
  async reference(config: Config): Promise<Metrics> {
    const out: Metrics = {};
    for (const pct of ["p01", "p50", "p90", "p99"]) {
      const v = await published(String(config.mode), Number(config.services), pct);
      if (v !== undefined) out[`published_first_packet_${pct}_s`] = v;
    }
    return out;
  },
};
