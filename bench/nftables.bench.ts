/**
 * kube-proxy's nftables mode, hot paths:
 * - compile + render (the full-sync `nft -f` text) of synthetic clusters of 1k/10k/30k ClusterIP
 *   Services with 4 and 10 endpoints each, as one node sees them;
 * - evaluation of a first packet (pod → ClusterIP) in a 10k × 4 cluster;
 * - a partial sync after one Service's endpoints changed in a 10k × 4 cluster: recompile
 *   (unchanged Services' sections reused) + the incremental transaction's text.
 * Clusters are built in onStart, outside the timed loop.
 */
import Benchmark from "benchmark";
import { createStream } from "../sim/random.js";
import type { ClusterState } from "../models/cluster/types.js";
import { compileNftables } from "../models/proxy/nftables/index.js";
import type { NftablesDataPlane } from "../models/proxy/nftables/index.js";
import { syntheticCluster } from "../models/proxy/synthetic.js";
import type { Packet } from "../models/proxy/types.js";
import { addCompileRenderCases, clusterIPPackets, NODE_OPTIONS as OPTIONS, twoStatesOneServiceChanged } from "./proxyBench.js";

let sink = 0;

function compileSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("nftables: compile + render a node's full ruleset");
  addCompileRenderCases(suite, (cluster) => compileNftables(cluster, OPTIONS).render().length, (n) => (sink += n));
  return suite;
}

function evaluateSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("nftables: evaluate a first packet (10k Services × 4 endpoints)");
  let plane: NftablesDataPlane | null = null;
  const packets: Packet[] = [];
  const rng = createStream(1, 0, "bench/nftables");
  let i = 0;
  suite.add(
    "pod → ClusterIP, walked rule by rule through the hooks",
    () => {
      const v = (plane as NftablesDataPlane).evaluate(packets[i++ & 1023], rng);
      sink += v.work.rulesTraversed;
    },
    {
      maxTime: 2,
      onStart: () => {
        const cluster = syntheticCluster({ services: 10_000, endpointsPerService: 4, nodes: 3 });
        plane = compileNftables(cluster, OPTIONS);
        packets.push(...clusterIPPackets(cluster, "bench/nftables/packets", "srcPort"));
      },
    },
  );
  return suite;
}

function incrementalSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("nftables: partial sync after one Service changed (10k Services × 4 endpoints)");
  let states: [ClusterState, ClusterState] | null = null;
  let planes: [NftablesDataPlane, NftablesDataPlane] | null = null;
  let flip = 0;
  suite.add(
    "recompile (reusing unchanged Services) + incremental transaction text",
    () => {
      const [a, b] = states as [ClusterState, ClusterState];
      const [pa, pb] = planes as [NftablesDataPlane, NftablesDataPlane];
      const from = flip === 0 ? pa : pb;
      const next = compileNftables(flip === 0 ? b : a, OPTIONS, from);
      sink += next.transactionFrom(from).text.length;
      flip ^= 1;
    },
    {
      maxTime: 3,
      onStart: () => {
        states = twoStatesOneServiceChanged();
        const pa = compileNftables(states[0], OPTIONS);
        planes = [pa, compileNftables(states[1], OPTIONS, pa)];
      },
    },
  );
  suite.add(
    "what the simulator's sync loop does: recompile (reusing) + counted writes (syncWritesFrom)",
    () => {
      const [a, b] = states as [ClusterState, ClusterState];
      const [pa, pb] = planes as [NftablesDataPlane, NftablesDataPlane];
      const from = flip === 0 ? pa : pb;
      const next = compileNftables(flip === 0 ? b : a, OPTIONS, from);
      sink += next.syncWritesFrom(from, "partial").rulesWritten;
      flip ^= 1;
    },
    { maxTime: 3 },
  );
  suite.add(
    "the same without reuse: full recompile + incremental transaction text",
    () => {
      const [a, b] = states as [ClusterState, ClusterState];
      const [pa, pb] = planes as [NftablesDataPlane, NftablesDataPlane];
      const from = flip === 0 ? pa : pb;
      const next = compileNftables(flip === 0 ? b : a, OPTIONS);
      sink += next.transactionFrom(from).text.length;
      flip ^= 1;
    },
    { minSamples: 3, maxTime: 3 },
  );
  return suite;
}

export function createSuites(): Benchmark.Suite[] {
  return [compileSuite(), evaluateSuite(), incrementalSuite()];
}

/** Keeps the results observable so that no work is optimized away. */
export function benchSink(): number {
  return sink;
}
