/**
 * Golden tests: the `nft -f` text we render for small clusters, frozen in
 * test/fixtures/golden/nftables/. Each case has two fixtures:
 *   <case>.nft       the full-sync transaction, exactly what we feed `nft -f`;
 *   <case>.dump.nft  the table it builds, printed as knftables' fake Dump() prints it (chains
 *                    sorted by name with their rules, then sets, then maps) — the form that
 *                    kube-proxy's own tests (pkg/proxy/nftables/proxier_test.go) compare against.
 *
 * How the fixtures were verified: each cluster mirrors the setup of a kube-proxy unit test
 * (named per case below; same namespaces, names, IPs, ports, node "test-node" at 192.168.0.2,
 * pod CIDR 10.0.0.0/8, Service CIDR 172.30.0.0/16, masquerade mark injected as 0x4000 like
 * kube-proxy's NewFakeProxier). Where that test spells out the expected rules
 * (TestOverallNFTablesRules, TestSyncProxyRulesStartup), the dump was compared line by line,
 * after kube-proxy's own sortNFTablesTransaction normalization, with the test's `expected`
 * text: identical. Where the test only traces packets (TestLoadBalancer,
 * TestExternalTrafficPolicyLocal, TestNoEndpointsReject), the rules were checked by reading
 * syncProxyRules, and the evaluation tests replay the test's packet flows.
 *
 * Deliberate differences from kube-proxy's literal output:
 *   - the transaction omits the one-time "add chain + delete chain" of each base chain that
 *     kube-proxy prepends to its very first sync after a restart (it is a periodic full sync);
 *   - Service ports come in the cluster state's order; kube-proxy iterates a Go map (random).
 *
 * Set UPDATE_GOLDENS=1 to rewrite the fixtures after a deliberate change, then re-verify.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import type { ClusterState } from "../../cluster/types.js";
import { compileNftables } from "./dataplane.js";
import {
  ETP_LOCAL_SVC,
  KUBE_PROXY_TEST_POD_CIDR,
  LB_SOURCE_RANGES_SVC,
  NO_ENDPOINTS_LB_SVC,
  OVERALL_SVC1,
  OVERALL_SVC2,
  OVERALL_SVC3,
  OVERALL_SVC5,
  OVERALL_SVC6,
  TEST_NODE,
  TWO_ENDPOINTS_SVC,
  buildCluster,
  overallCluster,
} from "./testClusters.js";
import { NftTableState, applyTransaction, dumpTable } from "./transaction.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/golden/nftables");

interface GoldenCase {
  name: string;
  /** The kube-proxy unit test whose setup the cluster mirrors. */
  mirrors: string;
  cluster: () => ClusterState;
}

const CASES: GoldenCase[] = [
  {
    name: "clusterip-one-endpoint",
    mirrors: "TestOverallNFTablesRules, ns1/svc1 (baseRules + the '# svc1' block)",
    cluster: () => buildCluster({ services: [OVERALL_SVC1] }),
  },
  {
    name: "clusterip-two-endpoints",
    mirrors: "TestSyncProxyRulesStartup, ns1/svc1 after the sync (numgen mod 2)",
    cluster: () => buildCluster({ services: [TWO_ENDPOINTS_SVC] }),
  },
  {
    name: "nodeport",
    mirrors: "TestOverallNFTablesRules, ns3/svc3",
    cluster: () => buildCluster({ services: [OVERALL_SVC3] }),
  },
  {
    name: "loadbalancer-source-ranges",
    mirrors: "TestLoadBalancer (a source range holds the node, so the LB IPs are allowed too)",
    cluster: () => buildCluster({ services: [LB_SOURCE_RANGES_SVC] }),
  },
  {
    name: "clientip-affinity",
    mirrors: "TestOverallNFTablesRules, ns5/svc5 (LoadBalancer, source range, ClientIP affinity)",
    cluster: () => buildCluster({ services: [OVERALL_SVC5] }),
  },
  {
    name: "local-policy-no-local-endpoint",
    mirrors: "TestOverallNFTablesRules, ns2/svc2 (eTP Local, only a remote endpoint)",
    cluster: () => buildCluster({ services: [OVERALL_SVC2] }),
  },
  {
    name: "local-policy-local-endpoint",
    mirrors: "TestExternalTrafficPolicyLocal (one local and one remote endpoint)",
    cluster: () => buildCluster({ services: [ETP_LOCAL_SVC] }),
  },
  {
    name: "no-endpoints",
    mirrors: "TestOverallNFTablesRules, ns6/svc6",
    cluster: () => buildCluster({ services: [OVERALL_SVC6] }),
  },
  {
    name: "no-endpoints-loadbalancer",
    mirrors: "TestNoEndpointsReject (ClusterIP, external IP, NodePort and LB IP all reject)",
    cluster: () => buildCluster({ services: [NO_ENDPOINTS_LB_SVC] }),
  },
  {
    name: "overall",
    mirrors: "TestOverallNFTablesRules, all six Services",
    cluster: overallCluster,
  },
];

function renderCase(c: GoldenCase): { nft: string; dump: string } {
  const plane = compileNftables(c.cluster(), { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR, masqueradeMark: "0x4000" });
  const nft = plane.render();
  const state = new NftTableState();
  applyTransaction(state, nft);
  return { nft, dump: dumpTable(state) };
}

function checkFixture(file: string, actual: string): void {
  const path = join(FIXTURES, file);
  if (process.env.UPDATE_GOLDENS === "1" || !existsSync(path)) {
    if (process.env.UPDATE_GOLDENS !== "1") throw new Error(`missing golden fixture ${path} (run with UPDATE_GOLDENS=1)`);
    mkdirSync(FIXTURES, { recursive: true });
    writeFileSync(path, actual);
  }
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("nftables goldens", () => {
  for (const c of CASES) {
    test(`${c.name} (mirrors ${c.mirrors})`, () => {
      const { nft, dump } = renderCase(c);
      expect(nft).toContain("table ip kube-proxy");
      checkFixture(`${c.name}.nft`, nft);
      checkFixture(`${c.name}.dump.nft`, dump);
    });
  }

  test("kube-proxy's per-Service and per-endpoint rule counts", () => {
    // A ClusterIP Service with one endpoint: 2 rules in its service chain (masquerade, numgen),
    // 2 in the endpoint chain (hairpin, DNAT); one more per endpoint: 2 rules each.
    const one = compileNftables(buildCluster({ services: [OVERALL_SVC1] }), { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR });
    const two = compileNftables(buildCluster({ services: [TWO_ENDPOINTS_SVC] }), { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR });
    const none = compileNftables(buildCluster({ services: [] }), { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR });
    expect(one.size().rules - none.size().rules).toBe(4);
    expect(two.size().rules - one.size().rules).toBe(2);
    expect(one.size().chains - none.size().chains).toBe(2);
    // Two map/set elements: cluster-ips and service-ips.
    expect(one.size().mapElements - none.size().mapElements).toBe(2);
  });
});
