/**
 * IPVS goldens: `ipvsadm -S -n` output, the iptables-restore input of the fixed part and the
 * ipsets, frozen in test/fixtures/golden/ipvs/<case>.{ipvsadm,iptables,ipsets} for clusters that
 * mirror kube-proxy's IPVS unit tests (pkg/proxy/ipvs/proxier_test.go; node IP 100.101.102.103,
 * mark 0x4000 as its fake proxier injects). Those tests check structures, not text: which
 * virtual and real servers exist, which ipset entries, and per chain the sequence of
 * (jump target, matched set); the same checks are made here on our structures, and the text
 * was then read against pkg/proxy/ipvs/proxier.go (writeIptablesRules) and ipvsadm's
 * print_service_entry (FMT_RULE) before being frozen.
 *
 * Deliberate differences: a NodePort gets a virtual server on the node IP only (kube-proxy uses
 * every local address but kube-ipvs0's; its fake proxier often has none, hence its smaller
 * virtual-server counts); ipvsadm lists in libipvs's sorted order, which we reproduce.
 *
 * UPDATE_GOLDENS=1 rewrites the fixtures.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import type { ClusterState } from "../../cluster/types.js";
import { buildCluster, overallCluster, TEST_NODE } from "../nftables/testClusters.js";
import type { ServiceSpec } from "../nftables/testClusters.js";
import { compileIpvs } from "./dataplane.js";
import type { IpvsDataPlane } from "./dataplane.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/golden/ipvs");
const IPVS_NODE_IP = "100.101.102.103";

function cluster(services: ServiceSpec[]): ClusterState {
  return buildCluster({ nodes: [{ name: TEST_NODE, ip: IPVS_NODE_IP }], serviceRange: "10.20.30.0/24", services });
}

const LB: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  type: "LoadBalancer",
  clusterIP: "10.20.30.41",
  ports: [{ name: "p80", port: 80, nodePort: 3001 }],
  lbIngress: ["1.2.3.4"],
  endpoints: [{ ip: "10.180.0.1" }],
};

const LB_SOURCE_RANGES: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  type: "LoadBalancer",
  clusterIP: "10.20.30.41",
  ports: [{ name: "p80", port: 80 }],
  lbIngress: ["1.2.3.4"],
  sourceRanges: ["10.0.0.0/8"],
  endpoints: [{ ip: "10.180.0.1" }],
};

const ONLY_LOCAL_NODEPORT: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  type: "NodePort",
  eTP: "Local",
  clusterIP: "10.20.30.41",
  ports: [{ name: "p80", port: 80, nodePort: 3001 }],
  endpoints: [{ ip: "10.180.0.1", node: TEST_NODE }, { ip: "10.180.1.1", node: "other-hostname" }],
};

const SESSION_AFFINITY: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  type: "NodePort",
  clusterIP: "10.20.30.41",
  externalIPs: ["50.60.70.81"],
  ports: [{ name: "p80", port: 80, nodePort: 3001 }],
  affinity: 10800,
  endpoints: [{ ip: "10.180.0.1" }],
};

interface Case {
  name: string;
  mirrors: string;
  plane: () => IpvsDataPlane;
}

const opts = { nodeName: TEST_NODE, clusterCIDR: "10.0.0.0/8", masqueradeMark: "0x4000" };

const CASES: Case[] = [
  { name: "loadbalancer", mirrors: "TestLoadBalancer", plane: () => compileIpvs(cluster([LB]), opts) },
  { name: "loadbalancer-source-ranges", mirrors: "TestLoadBalancerSourceRanges", plane: () => compileIpvs(cluster([LB_SOURCE_RANGES]), opts) },
  { name: "nodeport-local", mirrors: "TestOnlyLocalNodePorts", plane: () => compileIpvs(cluster([ONLY_LOCAL_NODEPORT]), opts) },
  { name: "session-affinity", mirrors: "TestSessionAffinity (plus one endpoint)", plane: () => compileIpvs(cluster([SESSION_AFFINITY]), opts) },
  {
    name: "overall",
    mirrors: "the Services of nftables' TestOverallNFTablesRules, in IPVS mode",
    plane: () => compileIpvs(overallCluster(), { nodeName: TEST_NODE, clusterCIDR: "10.0.0.0/8", masqueradeMark: "0x4000" }),
  },
];

function checkFixture(file: string, actual: string): void {
  const path = join(FIXTURES, file);
  if (process.env.UPDATE_GOLDENS === "1") {
    mkdirSync(FIXTURES, { recursive: true });
    writeFileSync(path, actual);
  }
  if (!existsSync(path)) throw new Error(`missing golden fixture ${path} (run with UPDATE_GOLDENS=1)`);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

/** kube-proxy's checkIptables view of a chain: (jump target, matched set) per rule. */
function chainView(p: IpvsDataPlane, table: "nat" | "filter", chain: string): Array<[string, string]> {
  return p.iptables.rules
    .filter((r) => r.table === table && r.chain === chain)
    .map((r) => {
      const set = r.matches.find((m) => m.m === "set");
      const target = r.target.t === "jump" ? r.target.chain : r.target.t;
      return [target, set !== undefined && set.m === "set" ? set.set : ""];
    });
}

describe("IPVS goldens", () => {
  for (const c of CASES) {
    test(`${c.name} (mirrors ${c.mirrors})`, () => {
      const p = c.plane();
      const ipvsadm = p.render();
      expect(ipvsadm.split("\n").some((l) => l.startsWith("-A -t "))).toBe(true);
      checkFixture(`${c.name}.ipvsadm`, ipvsadm);
      checkFixture(`${c.name}.iptables`, p.renderIptables());
      checkFixture(`${c.name}.ipsets`, p.renderIpsets());
    });
  }

  test("TestLoadBalancer's structure: LB and ClusterIP virtual servers, KUBE-SERVICES and KUBE-LOAD-BALANCER chains", () => {
    const p = compileIpvs(cluster([LB]), opts);
    const lb = p.virtualServers.find((v) => v.key === "TCP 1.2.3.4:80");
    expect(lb?.realServers.map((r) => r.key)).toEqual(["10.180.0.1:80"]);
    expect([...(p.ipsets.get("KUBE-LOAD-BALANCER")?.keys() ?? [])]).toEqual(["1.2.3.4,tcp:80"]);
    expect(chainView(p, "nat", "KUBE-SERVICES")).toEqual([
      ["RETURN", ""],
      ["KUBE-LOAD-BALANCER", "KUBE-LOAD-BALANCER"],
      ["KUBE-MARK-MASQ", "KUBE-CLUSTER-IP"],
      ["KUBE-NODE-PORT", ""],
      ["ACCEPT", "KUBE-CLUSTER-IP"],
      ["ACCEPT", "KUBE-LOAD-BALANCER"],
    ]);
    expect(chainView(p, "nat", "KUBE-LOAD-BALANCER")).toEqual([["KUBE-MARK-MASQ", ""]]);
  });

  test("TestLoadBalancerSourceRanges' structure: firewall sets and chains", () => {
    const p = compileIpvs(cluster([LB_SOURCE_RANGES]), opts);
    expect([...(p.ipsets.get("KUBE-LOAD-BALANCER-FW")?.keys() ?? [])]).toEqual(["1.2.3.4,tcp:80"]);
    expect([...(p.ipsets.get("KUBE-LOAD-BALANCER-SOURCE-CIDR")?.keys() ?? [])]).toEqual(["1.2.3.4,tcp:80,10.0.0.0/8"]);
    expect(chainView(p, "filter", "KUBE-PROXY-FIREWALL")).toEqual([["KUBE-SOURCE-RANGES-FIREWALL", "KUBE-LOAD-BALANCER-FW"]]);
    expect(chainView(p, "filter", "KUBE-SOURCE-RANGES-FIREWALL")).toEqual([
      ["RETURN", "KUBE-LOAD-BALANCER-SOURCE-CIDR"],
      ["DROP", ""],
    ]);
    // The node is outside the source ranges: it may not reach the LB IP itself.
    expect(chainView(p, "filter", "KUBE-IPVS-OUT-FILTER")).toEqual([["DROP", ""]]);
  });

  test("TestOnlyLocalNodePorts' structure: local real server only, node-port sets and chain", () => {
    const p = compileIpvs(cluster([ONLY_LOCAL_NODEPORT]), opts);
    const np = p.virtualServers.find((v) => v.key === `TCP ${IPVS_NODE_IP}:3001`);
    expect(np?.realServers.map((r) => r.key)).toEqual(["10.180.0.1:80"]);
    expect([...(p.ipsets.get("KUBE-NODE-PORT-TCP")?.keys() ?? [])]).toEqual(["3001"]);
    expect([...(p.ipsets.get("KUBE-NODE-PORT-LOCAL-TCP")?.keys() ?? [])]).toEqual(["3001"]);
    expect(chainView(p, "nat", "KUBE-NODE-PORT")).toEqual([
      ["RETURN", "KUBE-NODE-PORT-LOCAL-TCP"],
      ["KUBE-MARK-MASQ", "KUBE-NODE-PORT-TCP"],
    ]);
    expect(chainView(p, "filter", "KUBE-NODE-PORT")).toEqual([["ACCEPT", "KUBE-HEALTH-CHECK-NODE-PORT"]]);
  });

  test("TestSessionAffinity's structure: persistent virtual servers with the affinity timeout", () => {
    const p = compileIpvs(cluster([SESSION_AFFINITY]), opts);
    for (const key of ["TCP 10.20.30.41:80", "TCP 50.60.70.81:80", `TCP ${IPVS_NODE_IP}:3001`]) {
      const v = p.virtualServers.find((x) => x.key === key);
      expect(v?.persistenceTimeout, key).toBe(10800);
    }
    expect(p.render()).toContain("-A -t 10.20.30.41:80 -s rr -p 10800\n");
  });

  test("ipvsadm's address order wraps as libipvs compares (uint32 difference read as int)", () => {
    const p = compileIpvs(overallCluster(), { nodeName: TEST_NODE, clusterCIDR: "10.0.0.0/8" });
    const order = p.virtualServers.map((v) => v.ipText);
    // 172.30.x < 192.168.x (close enough not to wrap), but 1.2.3.4 - 192.168.99.33 wraps positive.
    expect(order.indexOf("172.30.0.46")).toBeLessThan(order.indexOf("192.168.0.2"));
    expect(order.indexOf("192.168.99.33")).toBeLessThan(order.indexOf("1.2.3.4"));
  });
});
