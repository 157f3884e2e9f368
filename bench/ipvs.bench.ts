/**
 * kube-proxy's IPVS mode, hot paths:
 * - compile + render (`ipvsadm -S -n`, the iptables-restore input and the ipsets) of synthetic
 *   clusters of 1k/10k/30k ClusterIP Services with 4 and 10 endpoints each;
 * - evaluation of a first packet (pod → ClusterIP) in a 10k × 4 cluster, with rr and with sh;
 * - the sync after one Service's endpoints changed in a 10k × 4 cluster: recompile + the
 *   ipvsadm/ipset operations it implies.
 * Clusters are built in onStart, outside the timed loop.
 */
import Benchmark from "benchmark";
import type { ClusterState } from "../models/cluster/types.js";
import { parseIPv4 } from "../models/network/ip.js";
import { compileIpvs } from "../models/proxy/ipvs/index.js";
import type { IpvsDataPlane, IpvsScheduler } from "../models/proxy/ipvs/index.js";
import { SYNTHETIC_CLUSTER_CIDR, syntheticCluster } from "../models/proxy/synthetic.js";
import type { Packet, UniformSource } from "../models/proxy/types.js";
import { createStream } from "../sim/random.js";

const OPTIONS = { nodeName: "node-1", clusterCIDR: SYNTHETIC_CLUSTER_CIDR };
let sink = 0;

function compileSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("IPVS: compile + render ipvsadm -S, iptables and ipsets");
  for (const services of [1000, 10_000, 30_000]) {
    for (const endpoints of [4, 10]) {
      let cluster: ClusterState | null = null;
      suite.add(
        `${services / 1000}k Services × ${endpoints} endpoints`,
        () => {
          const p = compileIpvs(cluster as ClusterState, OPTIONS);
          sink += p.render().length + p.renderIptables().length + p.renderIpsets().length;
        },
        {
          minSamples: services >= 10_000 ? 2 : 5,
          maxTime: services >= 10_000 ? 4 : 2,
          onStart: () => {
            cluster = syntheticCluster({ services, endpointsPerService: endpoints, nodes: 3 });
          },
          onComplete: () => {
            cluster = null;
          },
        },
      );
    }
  }
  return suite;
}

function evaluateSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("IPVS: evaluate a first packet (10k Services × 4 endpoints)");
  const rng: UniformSource = createStream(1, 0, "bench/ipvs");
  for (const scheduler of ["rr", "sh"] as IpvsScheduler[]) {
    let plane: IpvsDataPlane | null = null;
    const packets: Packet[] = [];
    let i = 0;
    suite.add(
      `pod → ClusterIP, scheduler ${scheduler}`,
      () => {
        const v = (plane as IpvsDataPlane).evaluate(packets[i++ & 1023], rng);
        sink += v.work.rulesTraversed;
      },
      {
        maxTime: 2,
        onStart: () => {
          const cluster = syntheticCluster({ services: 10_000, endpointsPerService: 4, nodes: 3 });
          plane = compileIpvs(cluster, { ...OPTIONS, ipvsScheduler: scheduler });
          const pick = createStream(2, 0, "bench/ipvs/packets");
          for (let k = 0; k < 1024; k++) {
            const svc = cluster.services[Math.floor(pick.next() * cluster.services.length)];
            packets.push({ srcIP: parseIPv4("10.200.0.9") + k, srcPort: 40000, dstIP: parseIPv4(svc.clusterIP as string), dstPort: 80, protocol: "TCP", ingress: "local" });
          }
        },
      },
    );
  }
  return suite;
}

function updateSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("IPVS: sync after one Service changed (10k Services × 4 endpoints)");
  let states: [ClusterState, ClusterState] | null = null;
  let planes: [IpvsDataPlane, IpvsDataPlane] | null = null;
  let flip = 0;
  suite.add(
    "recompile + ipvsadm/ipset operations",
    () => {
      const [a, b] = states as [ClusterState, ClusterState];
      const [pa, pb] = planes as [IpvsDataPlane, IpvsDataPlane];
      const from = flip === 0 ? pa : pb;
      const next = compileIpvs(flip === 0 ? b : a, OPTIONS);
      sink += next.updateFrom(from).ipvsadm.length;
      flip ^= 1;
    },
    {
      minSamples: 3,
      maxTime: 3,
      onStart: () => {
        const a = syntheticCluster({ services: 10_000, endpointsPerService: 4, nodes: 3 });
        const b: ClusterState = { ...a, endpointSlices: a.endpointSlices.slice() };
        const slice = b.endpointSlices[5000];
        b.endpointSlices[5000] = { ...slice, endpoints: [...slice.endpoints.slice(1), { ...slice.endpoints[0], address: "10.255.0.1" }] };
        states = [a, b];
        planes = [compileIpvs(a, OPTIONS), compileIpvs(b, OPTIONS)];
      },
    },
  );
  return suite;
}

export function createSuites(): Benchmark.Suite[] {
  return [compileSuite(), evaluateSuite(), updateSuite()];
}

/** Keeps the results observable so that no work is optimized away. */
export function benchSink(): number {
  return sink;
}
