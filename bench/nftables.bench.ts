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
import { compileNftables } from "../models/proxy/nftables/index.js";
import type { NftablesDataPlane } from "../models/proxy/nftables/index.js";
import { syntheticCluster } from "../models/proxy/synthetic.js";
import type { Packet } from "../models/proxy/types.js";
import { addCompileRenderCases, clusterIPPackets, NODE_OPTIONS as OPTIONS, OneChangeFlip } from "./proxyBench.js";

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
  const flip = new OneChangeFlip<NftablesDataPlane>((state, previous) => compileNftables(state, OPTIONS, previous));
  suite.add(
    "recompile (reusing unchanged Services) + incremental transaction text",
    () => {
      sink += flip.step((to, from) => compileNftables(to, OPTIONS, from).transactionFrom(from).text.length);
    },
    { maxTime: 3, onStart: () => flip.setUp() },
  );
  suite.add(
    "what the simulator's sync loop does: recompile (reusing) + counted writes (syncWritesFrom)",
    () => {
      sink += flip.step((to, from) => compileNftables(to, OPTIONS, from).syncWritesFrom(from, "partial").rulesWritten);
    },
    { maxTime: 3 },
  );
  suite.add(
    "the same without reuse: full recompile + incremental transaction text",
    () => {
      sink += flip.step((to, from) => compileNftables(to, OPTIONS).transactionFrom(from).text.length);
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
