/**
 * First-packet latency of new connections on one node, the way the published figures were
 * taken: connections from a pod on the node to Services drawn uniformly at random, each first
 * packet evaluated against the node's compiled data plane and its Work turned into time by the
 * cost profile (round trip included, jittered).
 */
import { LogHistogram } from "../../sim/histogram.js";
import type { Rng } from "../../sim/random.js";
import { NS_PER_S } from "../../sim/time.js";
import type { ClusterState } from "../cluster/types.js";
import { parseCidr, parseIPv4 } from "../network/ip.js";
import { firstPacketCostBreakdown, sampleFirstPacketCost } from "./cost.js";
import type { CostProfile } from "./cost.js";
import type { CompiledDataPlane, Packet, Work } from "./types.js";

export interface FirstPacketMeasurement {
  /** First-packet RTT per connection, seconds (round trip + data plane). */
  rtt: LogHistogram;
  /** The data plane's share alone (no round trip, no jitter), mean seconds. */
  meanDataPlaneS: number;
  meanWork: Work;
  packets: number;
}

/**
 * Sends `packets` first packets from a pod on the plane's node to ClusterIP Services of `state`
 * picked with `targets` (uniformly), jittered with `jitter`.
 */
export function measureFirstPackets(
  plane: CompiledDataPlane,
  state: ClusterState,
  profile: CostProfile,
  packets: number,
  targets: Rng,
  jitter: Rng,
): FirstPacketMeasurement {
  const node = state.nodes.find((n) => n.name === plane.nodeName);
  if (!node) throw new RangeError(`measureFirstPackets: no node ${plane.nodeName} in the state`);
  // The client is a pod on the node: the first address of its podCIDR after the gateway.
  const src = parseCidr(node.podCIDR).base + 250;
  const vips: number[] = [];
  const ports: number[] = [];
  for (const s of state.services) {
    if (s.clusterIP === null || s.ports.length === 0) continue;
    vips.push(parseIPv4(s.clusterIP));
    ports.push(s.ports[0].port);
  }
  const size = plane.size();
  // 0.1 % buckets: replications differ by less than 1 % in their percentiles.
  const rtt = new LogHistogram({ relativeError: 0.001 });
  const work: Work = { rulesTraversed: 0, matchesTried: 0, mapLookups: 0, chainJumps: 0 };
  let dataPlane = 0;
  const packet: Packet = { srcIP: src, srcPort: 40_000, dstIP: 0, dstPort: 0, protocol: "TCP", ingress: "local" };
  for (let i = 0; i < packets; i++) {
    const k = Math.floor(targets.next() * vips.length);
    packet.dstIP = vips[k];
    packet.dstPort = ports[k];
    packet.srcPort = 32_768 + (i % 28_232);
    const v = plane.evaluate(packet, targets);
    rtt.record(sampleFirstPacketCost(profile, plane.mode, v.work, size, jitter) / NS_PER_S);
    const b = firstPacketCostBreakdown(profile, plane.mode, v.work, size);
    dataPlane += b.total - b.roundTrip;
    work.rulesTraversed += v.work.rulesTraversed;
    work.matchesTried += v.work.matchesTried;
    work.mapLookups += v.work.mapLookups;
    work.chainJumps += v.work.chainJumps;
  }
  const n = Math.max(1, packets);
  return {
    rtt,
    meanDataPlaneS: dataPlane / n / NS_PER_S,
    meanWork: {
      rulesTraversed: work.rulesTraversed / n,
      matchesTried: work.matchesTried / n,
      mapLookups: work.mapLookups / n,
      chainJumps: work.chainJumps / n,
    },
    packets,
  };
}
