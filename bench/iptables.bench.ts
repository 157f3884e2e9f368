/**
 * kube-proxy's iptables mode:
 * - compile + render (the full-sync iptables-restore text) for 1k/10k/30k Services with 4 and
 *   10 endpoints each;
 * - the fast path per first packet (packets to random cluster IPs);
 * - the reference interpreter per first packet (it walks KUBE-SERVICES linearly, so a smaller
 *   cluster too);
 * - an incremental update of one Service (an endpoint replaced) in a 10k-Service cluster:
 *   recompiling that Service's records and rendering the partial sync kube-proxy would write.
 *
 * Clusters are built when a benchmark starts and dropped when it ends, so the heaviest ones are
 * never in memory together.
 */
import Benchmark from "benchmark";
import type { ClusterState } from "../models/cluster/types.js";
import { compileIptables, interpretIptables, prepareRuleset } from "../models/proxy/iptables/index.js";
import type { IptablesDataPlane, PreparedRuleset } from "../models/proxy/iptables/index.js";
import { LcgRandom } from "../models/proxy/iptables/testing.js";
import { syntheticCluster } from "../models/proxy/synthetic.js";
import type { Packet } from "../models/proxy/types.js";

const NODE = "node-1";

function cluster(services: number, endpointsPerService: number): ClusterState {
  return syntheticCluster({ services, endpointsPerService, nodes: 3 });
}

function compile(state: ClusterState): IptablesDataPlane {
  return compileIptables(state, { nodeName: NODE, clusterCIDR: state.clusterCIDR });
}

function ipOf(text: string): number {
  const [a, b, c, d] = text.split(".").map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** 4096 first packets from a pod on the node to random Services' cluster IPs. */
function packetsTo(state: ClusterState, seed: number): Packet[] {
  const rng = new LcgRandom(seed);
  const src = ipOf(state.endpointSlices[0].endpoints[0].address);
  const packets: Packet[] = [];
  for (let i = 0; i < 4096; i++) {
    const svc = state.services[Math.floor(rng.next() * state.services.length)];
    packets.push({ srcIP: src, srcPort: 32768 + i, dstIP: ipOf(svc.clusterIP as string), dstPort: 80, protocol: "TCP", ingress: "local" });
  }
  return packets;
}

function compileSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("iptables: compile + render (full sync)");
  for (const endpoints of [4, 10]) {
    for (const services of [1000, 10_000, 30_000]) {
      let state: ClusterState | null = null;
      let bytes = 0;
      suite.add(
        `compile + render ${services / 1000}k Services × ${endpoints} endpoints`,
        () => {
          bytes += compile(state as ClusterState).render().length;
        },
        {
          minSamples: services >= 10_000 ? 2 : 5,
          maxTime: services >= 10_000 ? 4 : 2,
          onStart: () => {
            state = cluster(services, endpoints);
          },
          onComplete: () => {
            state = null;
            void bytes;
          },
        },
      );
    }
  }
  return suite;
}

function fastPathSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("iptables: fast path per first packet");
  for (const services of [1000, 10_000, 30_000]) {
    let plane: IptablesDataPlane | null = null;
    let packets: Packet[] = [];
    const rng = new LcgRandom(1);
    let i = 0;
    let sink = 0;
    suite.add(
      `evaluate, ${services / 1000}k Services × 4, random cluster IPs`,
      () => {
        sink += (plane as IptablesDataPlane).evaluate(packets[i++ & 4095], rng).work.rulesTraversed;
      },
      {
        maxTime: 2,
        onStart: () => {
          const state = cluster(services, 4);
          plane = compile(state);
          packets = packetsTo(state, 7);
        },
        onComplete: () => {
          plane = null;
          void sink;
        },
      },
    );
  }
  return suite;
}

function interpreterSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("iptables: reference interpreter per first packet");
  for (const services of [1000, 10_000]) {
    let rules: PreparedRuleset | null = null;
    let nodeIP = 0;
    let packets: Packet[] = [];
    const rng = new LcgRandom(1);
    let i = 0;
    let sink = 0;
    suite.add(
      `interpretIptables, ${services / 1000}k Services × 4, random cluster IPs`,
      () => {
        sink += interpretIptables(rules as PreparedRuleset, nodeIP, packets[i++ & 4095], rng).work.rulesTraversed;
      },
      {
        maxTime: 2,
        onStart: () => {
          const state = cluster(services, 4);
          const plane = compile(state);
          rules = prepareRuleset(plane.render());
          nodeIP = plane.nodeIP;
          packets = packetsTo(state, 7);
        },
        onComplete: () => {
          rules = null;
          void sink;
        },
      },
    );
  }
  return suite;
}

function updateSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("iptables: incremental update of one Service");
  let states: ClusterState[] = [];
  let plane: IptablesDataPlane | null = null;
  let k = 0;
  let bytes = 0;
  const changed = new Set(["ns-7/svc-5007"]);
  suite.add(
    "update one Service's endpoint in 10k Services × 4: recompile + partial-sync text",
    () => {
      const next = (plane as IptablesDataPlane).update(states[++k & 1], changed);
      bytes += next.renderPartial(changed, plane as IptablesDataPlane).text.length;
      plane = next;
    },
    {
      maxTime: 3,
      onStart: () => {
        const a = cluster(10_000, 4);
        // The same cluster with one endpoint of svc-5007 moved to another address.
        const b: ClusterState = {
          ...a,
          endpointSlices: a.endpointSlices.map((s) =>
            s.serviceName !== "svc-5007"
              ? s
              : { ...s, endpoints: s.endpoints.map((e, j) => (j === 0 ? { ...e, address: "10.255.255.254" } : e)) },
          ),
        };
        states = [a, b];
        plane = compile(a);
      },
      onComplete: () => {
        states = [];
        plane = null;
        void bytes;
      },
    },
  );
  return suite;
}

export function createSuites(): Benchmark.Suite[] {
  return [compileSuite(), fastPathSuite(), interpreterSuite(), updateSuite()];
}
