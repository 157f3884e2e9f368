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
import { compileIpvs } from "../models/proxy/ipvs/index.js";
import type { IpvsDataPlane, IpvsScheduler } from "../models/proxy/ipvs/index.js";
import { syntheticCluster } from "../models/proxy/synthetic.js";
import type { Packet, UniformSource } from "../models/proxy/types.js";
import { createStream } from "../sim/random.js";
import { addCompileRenderCases, clusterIPPackets, NODE_OPTIONS as OPTIONS, OneChangeFlip } from "./proxyBench.js";

let sink = 0;

function compileSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("IPVS: compile + render ipvsadm -S, iptables and ipsets");
  addCompileRenderCases(
    suite,
    (cluster) => {
      const p = compileIpvs(cluster, OPTIONS);
      return p.render().length + p.renderIptables().length + p.renderIpsets().length;
    },
    (n) => (sink += n),
  );
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
          packets.push(...clusterIPPackets(cluster, "bench/ipvs/packets", "srcIP"));
        },
      },
    );
  }
  return suite;
}

function updateSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("IPVS: sync after one Service changed (10k Services × 4 endpoints)");
  const flip = new OneChangeFlip<IpvsDataPlane>((state) => compileIpvs(state, OPTIONS));
  suite.add(
    "recompile + ipvsadm/ipset operations",
    () => {
      sink += flip.step((to, from) => compileIpvs(to, OPTIONS).updateFrom(from).ipvsadm.length);
    },
    { minSamples: 3, maxTime: 3, onStart: () => flip.setUp() },
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
