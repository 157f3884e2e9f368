/** Set-up shared by the proxy modes' benchmark suites (clusters, packets, a one-Service change). */
import type Benchmark from "benchmark";
import type { ClusterState } from "../models/cluster/types.js";
import { parseIPv4 } from "../models/network/ip.js";
import { SYNTHETIC_CLUSTER_CIDR, syntheticCluster } from "../models/proxy/synthetic.js";
import type { Packet } from "../models/proxy/types.js";
import { createStream } from "../sim/random.js";

export const NODE_OPTIONS = { nodeName: "node-1", clusterCIDR: SYNTHETIC_CLUSTER_CIDR };

/**
 * Adds "compile + render" cases for 1k/10k/30k Services × 4 and × 10 endpoints; the cluster
 * is built in onStart, outside the timed loop. `work` returns a number to keep observable.
 */
export function addCompileRenderCases(suite: Benchmark.Suite, work: (cluster: ClusterState) => number, keep: (n: number) => void): void {
  for (const services of [1000, 10_000, 30_000]) {
    for (const endpoints of [4, 10]) {
      let cluster: ClusterState | null = null;
      suite.add(`${services / 1000}k Services × ${endpoints} endpoints`, () => keep(work(cluster as ClusterState)), {
        minSamples: services >= 10_000 ? 2 : 5,
        maxTime: services >= 10_000 ? 4 : 2,
        onStart: () => {
          cluster = syntheticCluster({ services, endpointsPerService: endpoints, nodes: 3 });
        },
        onComplete: () => {
          cluster = null;
        },
      });
    }
  }
}

/**
 * 1024 first packets from pods to ClusterIPs drawn at random; `vary` is what changes from one
 * packet to the next (the source address matters to source-hashing schedulers).
 */
export function clusterIPPackets(cluster: ClusterState, stream: string, vary: "srcIP" | "srcPort"): Packet[] {
  const pick = createStream(2, 0, stream);
  const src = parseIPv4("10.200.0.9");
  const packets: Packet[] = [];
  for (let k = 0; k < 1024; k++) {
    const svc = cluster.services[Math.floor(pick.next() * cluster.services.length)];
    packets.push({
      srcIP: vary === "srcIP" ? src + k : src,
      srcPort: vary === "srcPort" ? 40_000 + k : 40_000,
      dstIP: parseIPv4(svc.clusterIP as string),
      dstPort: 80,
      protocol: "TCP",
      ingress: "local",
    });
  }
  return packets;
}

/** Two states of a 10k × 4 cluster that differ in one Service's endpoints. */
export function twoStatesOneServiceChanged(): [ClusterState, ClusterState] {
  const a = syntheticCluster({ services: 10_000, endpointsPerService: 4, nodes: 3 });
  const b: ClusterState = { ...a, endpointSlices: a.endpointSlices.slice() };
  const slice = b.endpointSlices[5000];
  b.endpointSlices[5000] = { ...slice, endpoints: [...slice.endpoints.slice(1), { ...slice.endpoints[0], address: "10.255.0.1" }] };
  return [a, b];
}

/**
 * A node moved back and forth between the two states of twoStatesOneServiceChanged(): each
 * step hands `f` the state it moves to and the plane compiled for the state it leaves.
 */
export class OneChangeFlip<P> {
  private states: [ClusterState, ClusterState] | null = null;
  private planes: [P, P] | null = null;
  private flip = 0;

  constructor(private readonly compile: (state: ClusterState, previous?: P) => P) {}

  /** Builds the states and their planes (benchmark.js's onStart). */
  setUp(): void {
    const states = twoStatesOneServiceChanged();
    const first = this.compile(states[0]);
    this.states = states;
    this.planes = [first, this.compile(states[1], first)];
  }

  step(f: (to: ClusterState, from: P) => number): number {
    const [a, b] = this.states as [ClusterState, ClusterState];
    const [pa, pb] = this.planes as [P, P];
    const r = this.flip === 0 ? f(b, pa) : f(a, pb);
    this.flip ^= 1;
    return r;
  }
}

