/**
 * Golden tests: the rules svcsim renders for small clusters, frozen in
 * test/fixtures/golden/iptables/*.rules after checking them line by line against what kube-proxy
 * writes for the same state (pkg/proxy/iptables/proxier.go and the expected dumps and packet
 * flows of proxier_test.go). Each case names the kube-proxy test it mirrors.
 *
 * Where kube-proxy's test has a full expected dump, the comparison is automatic too: our output,
 * normalized the way kube-proxy's sortIPTablesRules normalizes its own (tables, chains and the
 * KUBE-SERVICES/KUBE-NODEPORTS rules sorted), must equal the dump kept in
 * test/fixtures/golden/iptables/kube-proxy/.
 *
 * Packet flows: the expectations of kube-proxy's runPacketFlowTests for the same states, checked
 * on both evaluators (each endpoint a random draw can reach, masquerade or not, DROP/REJECT).
 *
 * UPDATE_GOLDEN=1 rewrites the fixtures (then review the diff by hand).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ClusterState, Protocol } from "../../cluster/types.js";
import { formatIPv4, parseIPv4 } from "../../network/ip.js";
import type { Packet } from "../types.js";
import { compileIptables, interpretIptables, prepareRuleset } from "./index.js";
import type { IptablesDataPlane } from "./index.js";
import { KUBE_PROXY_UNIT_TEST_OPTIONS } from "./options.js";
import type { IptablesOptions } from "./options.js";
import { ReplayRandom, TEST_NODE_IP, TEST_NODE_NAME, tcpPort, testCluster, testService, testSlice } from "./testing.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/golden/iptables");

interface GoldenCase {
  file: string;
  mirrors: string;
  state: string;
  differences?: string;
  cluster: ClusterState;
  options?: Omit<IptablesOptions, "nodeName">;
  /** A kube-proxy expected dump (in kube-proxy/) to compare after normalization. */
  kubeProxyDump?: string;
  flows?: Flow[];
}

interface Flow {
  name: string;
  source: string;
  dest: string;
  port: number;
  protocol?: Protocol;
  /** "ip:port, ip:port" (each endpoint reachable), "DROP", "REJECT", or "" (untouched). */
  output: string;
  masq?: boolean;
}

const PROFILE = "KUBE_PROXY_UNIT_TEST_OPTIONS (mark 0x4000, no --random-fully, nfacct counters present, localhost NodePorts on, pod CIDR 10.0.0.0/8)";

const overallCluster = testCluster(
  [
    testService("ns1", "svc1", { clusterIP: "172.30.0.41", ports: [tcpPort("p80", 80)] }),
    testService("ns2", "svc2", {
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      clusterIP: "172.30.0.42",
      ports: [tcpPort("p80", 80, 3001)],
      loadBalancerIngress: ["1.2.3.4"],
      externalIPs: ["192.168.99.22"],
      healthCheckNodePort: 30000,
    }),
    testService("ns3", "svc3", { type: "NodePort", clusterIP: "172.30.0.43", ports: [tcpPort("p80", 80, 3003)] }),
    testService("ns4", "svc4", { type: "NodePort", clusterIP: "172.30.0.44", externalIPs: ["192.168.99.33"], ports: [tcpPort("p80", 80)] }),
    testService("ns5", "svc5", {
      type: "LoadBalancer",
      clusterIP: "172.30.0.45",
      ports: [tcpPort("p80", 80, 3002)],
      loadBalancerIngress: ["5.6.7.8"],
      healthCheckNodePort: 30000,
      loadBalancerSourceRanges: [" 203.0.113.0/25"],
      sessionAffinity: "ClientIP",
      sessionAffinityTimeoutSeconds: 10800,
    }),
    testService("ns6", "svc6", { clusterIP: "172.30.0.46", ports: [tcpPort("p80", 80)] }),
  ],
  [
    testSlice("ns1", "svc1", [{ ip: "10.180.0.1" }], [{ name: "p80", port: 80 }]),
    testSlice("ns2", "svc2", [{ ip: "10.180.0.2" }], [{ name: "p80", port: 80 }]),
    testSlice("ns3", "svc3", [{ ip: "10.180.0.3" }], [{ name: "p80", port: 80 }]),
    testSlice("ns4", "svc4", [{ ip: "10.180.0.4" }, { ip: "10.180.0.5", node: TEST_NODE_NAME }], [{ name: "p80", port: 80 }]),
    testSlice("ns5", "svc5", [{ ip: "10.180.0.3" }], [{ name: "p80", port: 80 }]),
  ],
);

const overallState = `ns1/svc1 ClusterIP 172.30.0.41:80 -> 10.180.0.1; ns2/svc2 LoadBalancer eTP=Local 172.30.0.42:80
#   nodePort 3001, LB 1.2.3.4, externalIP 192.168.99.22, healthCheckNodePort 30000, one remote endpoint 10.180.0.2;
#   ns3/svc3 NodePort 172.30.0.43:80 nodePort 3003 -> 10.180.0.3; ns4/svc4 NodePort (no nodePort) 172.30.0.44:80,
#   externalIP 192.168.99.33 -> 10.180.0.4, 10.180.0.5 (local); ns5/svc5 LoadBalancer 172.30.0.45:80 nodePort 3002,
#   LB 5.6.7.8, sourceRanges " 203.0.113.0/25", ClientIP affinity 10800 s -> 10.180.0.3; ns6/svc6 ClusterIP
#   172.30.0.46:80 without endpoints. Node test-node 192.168.0.2.`;

const CASES: GoldenCase[] = [
  {
    file: "clusterip-one-endpoint.rules",
    mirrors: "TestSyncProxyRulesRepeated, first sync (ns1/svc1's lines; svc2 left out)",
    state: "ns1/svc1 ClusterIP 172.30.0.41, port p80 80/TCP -> endpoint 10.0.1.1:80 (no node). Node test-node 192.168.0.2.",
    cluster: testCluster(
      [testService("ns1", "svc1", { clusterIP: "172.30.0.41", ports: [tcpPort("p80", 80)] })],
      [testSlice("ns1", "svc1", [{ ip: "10.0.1.1" }], [{ name: "p80", port: 80 }])],
    ),
    flows: [
      { name: "pod to cluster IP", source: "10.0.0.2", dest: "172.30.0.41", port: 80, output: "10.0.1.1:80", masq: false },
      { name: "hairpin", source: "10.0.1.1", dest: "172.30.0.41", port: 80, output: "10.0.1.1:80", masq: true },
      { name: "node to cluster IP", source: TEST_NODE_IP, dest: "172.30.0.41", port: 80, output: "10.0.1.1:80", masq: true },
      { name: "wrong port", source: "10.0.0.2", dest: "172.30.0.41", port: 443, output: "" },
      { name: "wrong protocol", source: "10.0.0.2", dest: "172.30.0.41", port: 80, protocol: "UDP", output: "" },
    ],
  },
  {
    file: "clusterip-two-endpoints.rules",
    mirrors: "TestSyncProxyRulesRepeated, after \"Add an endpoint to a service\" (the svc3 chains it rewrites)",
    state: "ns3/svc3 ClusterIP 172.30.0.43, port p80 80/TCP -> 10.0.3.2:80, 10.0.3.3:80. Node test-node 192.168.0.2.",
    cluster: testCluster(
      [testService("ns3", "svc3", { clusterIP: "172.30.0.43", ports: [tcpPort("p80", 80)] })],
      [testSlice("ns3", "svc3", [{ ip: "10.0.3.2" }, { ip: "10.0.3.3" }], [{ name: "p80", port: 80 }])],
    ),
    flows: [
      { name: "pod to cluster IP", source: "10.0.0.2", dest: "172.30.0.43", port: 80, output: "10.0.3.2:80, 10.0.3.3:80", masq: false },
      { name: "external to cluster IP", source: "203.0.113.2", dest: "172.30.0.43", port: 80, output: "10.0.3.2:80, 10.0.3.3:80", masq: true },
    ],
  },
  {
    file: "nodeport.rules",
    mirrors: "TestOverallIPTablesRules (ns3/svc3's lines) and TestNodePorts (ipv4, localhost-nodeports enabled)",
    state: "ns3/svc3 NodePort 172.30.0.43, port p80 80/TCP, nodePort 3003 -> 10.180.0.3:80 (no node). Node test-node 192.168.0.2.",
    cluster: testCluster(
      [testService("ns3", "svc3", { type: "NodePort", clusterIP: "172.30.0.43", ports: [tcpPort("p80", 80, 3003)] })],
      [testSlice("ns3", "svc3", [{ ip: "10.180.0.3" }], [{ name: "p80", port: 80 }])],
    ),
    flows: [
      { name: "pod to cluster IP", source: "10.0.0.2", dest: "172.30.0.43", port: 80, output: "10.180.0.3:80", masq: false },
      { name: "external to nodePort", source: "203.0.113.2", dest: TEST_NODE_IP, port: 3003, output: "10.180.0.3:80", masq: true },
      { name: "node to nodePort", source: TEST_NODE_IP, dest: TEST_NODE_IP, port: 3003, output: "10.180.0.3:80", masq: true },
      { name: "localhost to nodePort gets masqueraded", source: "127.0.0.1", dest: "127.0.0.1", port: 3003, output: "10.180.0.3:80", masq: true },
      { name: "nodePort on a non-local address", source: "203.0.113.2", dest: "8.8.8.8", port: 3003, output: "" },
    ],
  },
  {
    file: "loadbalancer-source-ranges.rules",
    mirrors: "TestLoadBalancer (packet flows; kube-proxy keeps no dump for it)",
    state: `ns1/svc1 LoadBalancer 172.30.0.41, port p80 80/TCP, nodePort 3001, LB 1.2.3.4 and 5.6.7.8,
#   loadBalancerSourceRanges "192.168.0.0/24" (holds the node's IP) and " 203.0.113.0/25" -> 10.180.0.1:80.`,
    cluster: testCluster(
      [
        testService("ns1", "svc1", {
          type: "LoadBalancer",
          clusterIP: "172.30.0.41",
          ports: [tcpPort("p80", 80, 3001)],
          loadBalancerIngress: ["1.2.3.4", "5.6.7.8"],
          loadBalancerSourceRanges: ["192.168.0.0/24", " 203.0.113.0/25"],
        }),
      ],
      [testSlice("ns1", "svc1", [{ ip: "10.180.0.1" }], [{ name: "p80", port: 80 }])],
    ),
    flows: [
      { name: "pod to cluster IP", source: "10.0.0.2", dest: "172.30.0.41", port: 80, output: "10.180.0.1:80", masq: false },
      { name: "external to nodePort", source: "203.0.113.2", dest: TEST_NODE_IP, port: 3001, output: "10.180.0.1:80", masq: true },
      { name: "nodePort bypasses LoadBalancerSourceRanges", source: "203.0.113.130", dest: TEST_NODE_IP, port: 3001, output: "10.180.0.1:80", masq: true },
      { name: "accepted external to LB1", source: "203.0.113.2", dest: "1.2.3.4", port: 80, output: "10.180.0.1:80", masq: true },
      { name: "accepted external to LB2", source: "203.0.113.2", dest: "5.6.7.8", port: 80, output: "10.180.0.1:80", masq: true },
      { name: "blocked external to LB1", source: "203.0.113.130", dest: "1.2.3.4", port: 80, output: "DROP" },
      { name: "blocked external to LB2", source: "203.0.113.130", dest: "5.6.7.8", port: 80, output: "DROP" },
      { name: "pod to LB1 (blocked by LoadBalancerSourceRanges)", source: "10.0.0.2", dest: "1.2.3.4", port: 80, output: "DROP" },
      { name: "pod to LB2 (blocked by LoadBalancerSourceRanges)", source: "10.0.0.2", dest: "5.6.7.8", port: 80, output: "DROP" },
      { name: "node to LB1 (allowed by LoadBalancerSourceRanges)", source: TEST_NODE_IP, dest: "1.2.3.4", port: 80, output: "10.180.0.1:80", masq: true },
      { name: "node to LB2 (allowed by LoadBalancerSourceRanges)", source: TEST_NODE_IP, dest: "5.6.7.8", port: 80, output: "10.180.0.1:80", masq: true },
      { name: "same node to LB1, SNATted to LB1 (implicitly allowed)", source: "1.2.3.4", dest: "1.2.3.4", port: 80, output: "10.180.0.1:80", masq: true },
      { name: "same node to LB2, SNATted to LB2 (implicitly allowed)", source: "5.6.7.8", dest: "5.6.7.8", port: 80, output: "10.180.0.1:80", masq: true },
    ],
  },
  {
    file: "clientip-affinity.rules",
    mirrors: "TestOverallIPTablesRules (ns5/svc5's lines: recent --rcheck in KUBE-SVC, recent --set in KUBE-SEP); ns7/svc7 follows the same code path (writeServiceToEndpointRules: all --rcheck rules first, then the statistic rules)",
    state: `ns5/svc5 LoadBalancer 172.30.0.45:80 nodePort 3002, LB 5.6.7.8, sourceRanges " 203.0.113.0/25",
#   ClientIP affinity 10800 s -> 10.180.0.3:80; ns7/svc7 ClusterIP 172.30.0.47:80, ClientIP affinity 3600 s
#   -> 10.180.0.7:80, 10.180.0.8:80.`,
    cluster: testCluster(
      [
        overallCluster.services[4],
        testService("ns7", "svc7", {
          clusterIP: "172.30.0.47",
          ports: [tcpPort("p80", 80)],
          sessionAffinity: "ClientIP",
          sessionAffinityTimeoutSeconds: 3600,
        }),
      ],
      [overallCluster.endpointSlices[4], testSlice("ns7", "svc7", [{ ip: "10.180.0.7" }, { ip: "10.180.0.8" }], [{ name: "p80", port: 80 }])],
    ),
    flows: [
      { name: "pod to cluster IP", source: "10.0.0.2", dest: "172.30.0.47", port: 80, output: "10.180.0.7:80, 10.180.0.8:80", masq: false },
      { name: "allowed external to LB", source: "203.0.113.2", dest: "5.6.7.8", port: 80, output: "10.180.0.3:80", masq: true },
    ],
  },
  {
    file: "local-policy.rules",
    mirrors: "TestExternalTrafficPolicyLocal (packet flows); the KUBE-EXT shape matches ns2/svc2 of TestOverallIPTablesRules",
    differences: `with both Cluster and Local endpoints in use, kube-proxy merges the two lists through a Go
#   map, so its KUBE-SEP chains come in random order; svcsim sorts them by "ip:port" (rules unchanged).`,
    state: `ns1/svc1 LoadBalancer externalTrafficPolicy=Local 172.30.0.41:80 nodePort 3001, healthCheckNodePort 30000,
#   externalIP 192.168.99.11, LB 1.2.3.4 -> 10.180.0.1:80 (remote), 10.180.2.1:80 (on test-node).`,
    cluster: testCluster(
      [
        testService("ns1", "svc1", {
          type: "LoadBalancer",
          externalTrafficPolicy: "Local",
          clusterIP: "172.30.0.41",
          externalIPs: ["192.168.99.11"],
          ports: [tcpPort("p80", 80, 3001)],
          healthCheckNodePort: 30000,
          loadBalancerIngress: ["1.2.3.4"],
        }),
      ],
      [testSlice("ns1", "svc1", [{ ip: "10.180.0.1" }, { ip: "10.180.2.1", node: TEST_NODE_NAME }], [{ name: "p80", port: 80 }])],
    ),
    flows: [
      { name: "pod to cluster IP hits both endpoints, unmasqueraded", source: "10.0.0.2", dest: "172.30.0.41", port: 80, output: "10.180.0.1:80, 10.180.2.1:80", masq: false },
      { name: "pod to external IP hits both endpoints, unmasqueraded", source: "10.0.0.2", dest: "192.168.99.11", port: 80, output: "10.180.0.1:80, 10.180.2.1:80", masq: false },
      { name: "external to external IP hits only local endpoint, unmasqueraded", source: "203.0.113.2", dest: "192.168.99.11", port: 80, output: "10.180.2.1:80", masq: false },
      { name: "pod to LB IP hits only both endpoints, unmasqueraded", source: "10.0.0.2", dest: "1.2.3.4", port: 80, output: "10.180.0.1:80, 10.180.2.1:80", masq: false },
      { name: "external to LB IP hits only local endpoint, unmasqueraded", source: "203.0.113.2", dest: "1.2.3.4", port: 80, output: "10.180.2.1:80", masq: false },
      { name: "pod to NodePort hits both endpoints, unmasqueraded", source: "10.0.0.2", dest: TEST_NODE_IP, port: 3001, output: "10.180.0.1:80, 10.180.2.1:80", masq: false },
      { name: "external to NodePort hits only local endpoint, unmasqueraded", source: "203.0.113.2", dest: TEST_NODE_IP, port: 3001, output: "10.180.2.1:80", masq: false },
      { name: "node to NodePort is masqueraded and hits both endpoints", source: TEST_NODE_IP, dest: TEST_NODE_IP, port: 3001, output: "10.180.0.1:80, 10.180.2.1:80", masq: true },
      { name: "health check node port is accepted, not DNATed", source: "1.2.3.4", dest: TEST_NODE_IP, port: 30000, output: "" },
    ],
  },
  {
    file: "no-endpoints.rules",
    mirrors: "TestNoEndpointsReject (packet flows); REJECT rule shapes as ns6/svc6 of TestOverallIPTablesRules",
    state: "ns1/svc1 LoadBalancer 172.30.0.41:80 nodePort 3001, externalIP 192.168.99.11, LB 1.2.3.4, no endpoints.",
    cluster: testCluster(
      [
        testService("ns1", "svc1", {
          type: "LoadBalancer",
          clusterIP: "172.30.0.41",
          externalIPs: ["192.168.99.11"],
          ports: [tcpPort("p80", 80, 3001)],
          loadBalancerIngress: ["1.2.3.4"],
        }),
      ],
      [],
    ),
    flows: [
      { name: "pod to cluster IP with no endpoints", source: "10.0.0.2", dest: "172.30.0.41", port: 80, output: "REJECT" },
      { name: "external to external IP with no endpoints", source: "203.0.113.2", dest: "192.168.99.11", port: 80, output: "REJECT" },
      { name: "pod to NodePort with no endpoints", source: "10.0.0.2", dest: TEST_NODE_IP, port: 3001, output: "REJECT" },
      { name: "external to NodePort with no endpoints", source: "203.0.113.2", dest: TEST_NODE_IP, port: 3001, output: "REJECT" },
      { name: "pod to LoadBalancer IP with no endpoints", source: "10.0.0.2", dest: "1.2.3.4", port: 80, output: "REJECT" },
      { name: "external to LoadBalancer IP with no endpoints", source: "203.0.113.2", dest: "1.2.3.4", port: 80, output: "REJECT" },
      { name: "node to cluster IP with no endpoints", source: TEST_NODE_IP, dest: "172.30.0.41", port: 80, output: "REJECT" },
    ],
  },
  {
    file: "overall.rules",
    mirrors: "TestOverallIPTablesRules (the whole expected dump)",
    state: overallState,
    cluster: overallCluster,
    kubeProxyDump: "TestOverallIPTablesRules.rules",
    flows: [
      { name: "no local endpoints: external to LB is dropped", source: "203.0.113.2", dest: "1.2.3.4", port: 80, output: "DROP" },
      { name: "no local endpoints: pod to LB is short-circuited", source: "10.0.0.2", dest: "1.2.3.4", port: 80, output: "10.180.0.2:80", masq: false },
      { name: "no endpoints: REJECT", source: "10.0.0.2", dest: "172.30.0.46", port: 80, output: "REJECT" },
      { name: "external IP, Cluster policy", source: "203.0.113.2", dest: "192.168.99.33", port: 80, output: "10.180.0.4:80, 10.180.0.5:80", masq: true },
    ],
  },
  {
    file: "overall.node-defaults.rules",
    mirrors: "TestOverallIPTablesRules, rendered with a real node's defaults instead of the unit-test fake's",
    state: overallState,
    differences: `mark 0x00004000 (kube-proxy formats 1<<14 with Go's %#08x; the unit tests inject "0x4000"),
#   MASQUERADE --random-fully (iptables >= 1.6.2; the unit tests' fake iptables lacks it).`,
    cluster: overallCluster,
    options: { clusterCIDR: "10.0.0.0/8" },
  },
];

/** Rules whose `-m comment --comment` value (quoted or not) is returned, or null. */
function commentOf(rule: string): string | null {
  const at = rule.indexOf("--comment ");
  if (at < 0) return null;
  const rest = rule.slice(at + 10);
  if (rest.startsWith('"')) return rest.slice(1, rest.indexOf('"', 1));
  const sp = rest.indexOf(" ");
  return sp < 0 ? rest : rest.slice(0, sp);
}

/** The service name in a comment: up to the first space or colon (kube-proxy's test helper). */
function commentService(rule: string): string | null {
  const c = commentOf(rule);
  if (c === null) return null;
  const i = c.search(/[ :]/);
  return i < 0 ? c : c.slice(0, i);
}

/**
 * Normalizes iptables-restore text as kube-proxy's sortIPTablesRules does: tables by name;
 * chains with KUBE-NODEPORTS first, KUBE-SERVICES second, then KUBE-* and the rest by name;
 * each chain's rules in order, except KUBE-NODEPORTS and KUBE-SERVICES, stably sorted by the
 * service name in their comments (keeping the "must be the last rule" rule last).
 */
function sortLikeKubeProxy(text: string): string {
  const tables = new Map<string, { chains: string[]; rules: Map<string, string[]> }>();
  let current: { chains: string[]; rules: Map<string, string[]> } | null = null;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#") || line === "COMMIT") continue;
    if (line.startsWith("*")) {
      current = { chains: [], rules: new Map() };
      tables.set(line.slice(1), current);
    } else if (line.startsWith(":")) {
      const name = line.slice(1, line.indexOf(" "));
      current?.chains.push(name);
      current?.rules.set(name, []);
    } else if (line.startsWith("-A ")) {
      const name = line.split(" ")[1];
      current?.rules.get(name)?.push(line);
    }
  }
  const rank = (c: string): number => (c === "KUBE-NODEPORTS" ? 0 : c === "KUBE-SERVICES" ? 1 : c.startsWith("KUBE-") ? 2 : 3);
  const out: string[] = [];
  for (const name of [...tables.keys()].sort()) {
    const t = tables.get(name) as { chains: string[]; rules: Map<string, string[]> };
    const chains = [...t.chains].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    out.push(`*${name}`);
    for (const c of chains) out.push(`:${c} - [0:0]`);
    for (const c of chains) {
      let rules = t.rules.get(c) as string[];
      if (c === "KUBE-NODEPORTS" || c === "KUBE-SERVICES") {
        const key = (r: string): [number, string] => [r.includes("must be the last rule") ? 1 : 0, commentService(r) ?? ""];
        rules = rules
          .map((r, i) => ({ r, i, k: key(r) }))
          .sort((a, b) => a.k[0] - b.k[0] || (a.k[1] < b.k[1] ? -1 : a.k[1] > b.k[1] ? 1 : 0) || a.i - b.i)
          .map((x) => x.r);
      }
      out.push(...rules);
    }
    out.push("COMMIT");
  }
  return out.join("\n") + "\n";
}

function header(c: GoldenCase, options: Omit<IptablesOptions, "nodeName">): string {
  const lines = [
    `# svcsim golden: ${c.file}`,
    `# Mirrors kube-proxy pkg/proxy/iptables/proxier_test.go: ${c.mirrors}.`,
    `# State: ${c.state}`,
    `# Options: ${options === KUBE_PROXY_UNIT_TEST_OPTIONS ? PROFILE : JSON.stringify(options) + " (defaults otherwise)"}.`,
    `# Differences from kube-proxy: ${c.differences ?? "none in content; kube-proxy orders Services by Go map iteration (random), svcsim by state order."}`,
    "# Verified by hand line by line against proxier.go (syncProxyRules, writeServiceToEndpointRules) and proxier_test.go.",
  ];
  return lines.join("\n") + "\n";
}

function stripHeader(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");
}

function compile(c: GoldenCase): IptablesDataPlane {
  return compileIptables(c.cluster, { ...(c.options ?? KUBE_PROXY_UNIT_TEST_OPTIONS), nodeName: TEST_NODE_NAME });
}

/** Every endpoint reachable by some draw, for both evaluators, as kube-proxy's flow tests list them. */
function runFlow(plane: IptablesDataPlane, flow: Flow): { output: string; masq: Set<boolean> } {
  const rules = prepareRuleset(plane.render());
  const src = parseIPv4(flow.source);
  const packet: Packet = {
    srcIP: src,
    srcPort: 40000,
    dstIP: parseIPv4(flow.dest),
    dstPort: flow.port,
    protocol: flow.protocol ?? "TCP",
    // A node address or loopback as source: a host process (OUTPUT); otherwise PREROUTING.
    ingress: src === plane.nodeIP || src >>> 24 === 127 ? "local" : "external",
  };
  const outputs = new Set<string>();
  const masq = new Set<boolean>();
  for (const u of [0.001, 0.2, 0.4, 0.6, 0.8, 0.999]) {
    const fast = plane.evaluate(packet, new ReplayRandom([u]));
    const slow = interpretIptables(rules, plane.nodeIP, packet, new ReplayRandom([u]));
    expect(fast).toEqual(slow);
    if (fast.action === "dnat") {
      outputs.add(`${formatIPv4(fast.endpointIP as number)}:${fast.endpointPort}`);
      masq.add(fast.masquerade);
    } else if (fast.action === "drop") outputs.add("DROP");
    else if (fast.action === "reject") outputs.add("REJECT");
    else outputs.add("");
  }
  return { output: [...outputs].sort().join(", "), masq };
}

describe("iptables golden rules", () => {
  for (const c of CASES) {
    describe(c.file, () => {
      const options = c.options ?? KUBE_PROXY_UNIT_TEST_OPTIONS;
      const path = join(FIXTURES, c.file);

      it("renders the frozen fixture byte for byte", () => {
        const text = compile(c).render();
        if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, header(c, options) + text);
        const fixture = readFileSync(path, "utf8");
        expect(fixture.startsWith(header(c, options))).toBe(true);
        expect(text).toBe(stripHeader(fixture));
      });

      if (c.kubeProxyDump !== undefined) {
        const dump = c.kubeProxyDump;
        it(`equals kube-proxy's expected dump (${dump}) after kube-proxy's normalization`, () => {
          const expected = readFileSync(join(FIXTURES, "kube-proxy", dump), "utf8");
          expect(sortLikeKubeProxy(compile(c).render())).toBe(sortLikeKubeProxy(expected));
        });
      }

      for (const flow of c.flows ?? []) {
        it(`packet flow: ${flow.name}`, () => {
          const got = runFlow(compile(c), flow);
          expect(got.output).toBe(flow.output);
          if (flow.masq !== undefined) expect([...got.masq]).toEqual([flow.masq]);
        });
      }
    });
  }
});

describe("rule counts per Service and per endpoint", () => {
  // kube-proxy, ClusterIP Service with n endpoints, Cluster policy, no affinity: nat has 1
  // KUBE-SERVICES rule + 1 masquerade rule + n KUBE-SVC rules + 2n KUBE-SEP rules, and 1 + n
  // chains; filter has nothing per Service. With ClientIP affinity: n more KUBE-SVC rules.
  it.each([1, 2, 3, 10])("ClusterIP with %i endpoints", (n) => {
    const eps = Array.from({ length: n }, (_, i) => ({ ip: `10.180.0.${i + 1}` }));
    const base = compileIptables(testCluster([], []), { ...KUBE_PROXY_UNIT_TEST_OPTIONS, nodeName: TEST_NODE_NAME }).counts();
    for (const affinity of [false, true]) {
      const plane = compileIptables(
        testCluster(
          [testService("ns", "s", { clusterIP: "172.30.0.1", ports: [tcpPort("p", 80)], sessionAffinity: affinity ? "ClientIP" : "None" })],
          [testSlice("ns", "s", eps, [{ name: "p", port: 80 }])],
        ),
        { ...KUBE_PROXY_UNIT_TEST_OPTIONS, nodeName: TEST_NODE_NAME },
      );
      const c = plane.counts();
      expect(c.natRules - base.natRules).toBe(2 + n + 2 * n + (affinity ? n : 0));
      expect(c.natChains - base.natChains).toBe(1 + n);
      expect(c.filterRules - base.filterRules).toBe(0);
    }
  });

  it("a Service without endpoints costs one filter rule per address and no nat rule", () => {
    const base = compileIptables(testCluster([], []), { ...KUBE_PROXY_UNIT_TEST_OPTIONS, nodeName: TEST_NODE_NAME }).counts();
    const c = compile(CASES.find((x) => x.file === "no-endpoints.rules") as GoldenCase).counts();
    // cluster IP REJECT, external IP REJECT, LB IP REJECT, NodePort REJECT.
    expect(c.filterRules - base.filterRules).toBe(4);
    expect(c.natRules - base.natRules).toBe(0);
  });

  it("drops the endpoint comments in large-cluster mode, as TestSyncProxyRulesLargeClusterMode expects", () => {
    const svc = (i: number, port: number) =>
      testService(`ns${i}`, `svc${i}`, { clusterIP: `172.30.0.${40 + i}`, ports: [tcpPort(`p${port}`, port)] });
    const endpoints = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({ ip: `${prefix}.${i % 256}.${Math.floor(i / 256)}` }));
    const small = testCluster(
      [svc(1, 80), svc(2, 8080)],
      [
        testSlice("ns1", "svc1", endpoints("10.0", 499), [{ name: "p80", port: 80 }]),
        testSlice("ns2", "svc2", endpoints("10.1", 499), [{ name: "p8080", port: 8080 }]),
      ],
    );
    const text = compileIptables(small, { ...KUBE_PROXY_UNIT_TEST_OPTIONS, nodeName: TEST_NODE_NAME }).render();
    expect(text).toContain("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80\n");
    const large = testCluster(
      [...small.services, svc(3, 8081)],
      [
        ...small.endpointSlices,
        testSlice("ns3", "svc3", [{ ip: "203.0.113.4" }, { ip: "203.0.113.8" }, { ip: "203.0.113.12" }], [{ name: "p8081", port: 8081 }]),
      ],
    );
    const big = compileIptables(large, { ...KUBE_PROXY_UNIT_TEST_OPTIONS, nodeName: TEST_NODE_NAME }).render();
    expect(big).toContain("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80\n");
    expect(big).toContain("-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081\n");
    expect(big).not.toMatch(/-A KUBE-SEP-\S+ -m comment/);
  });
});

describe("partial sync", () => {
  it("writes KUBE-SERVICES whole and only the changed Service's chains, as TestSyncProxyRulesRepeated expects", () => {
    const svc = (ns: string, name: string, ip: string, port: string, p: number) =>
      testService(ns, name, { clusterIP: ip, ports: [tcpPort(port, p)] });
    const before = testCluster(
      [svc("ns1", "svc1", "172.30.0.41", "p80", 80), svc("ns3", "svc3", "172.30.0.43", "p80", 80), svc("ns4", "svc4", "172.30.0.44", "p80", 80)],
      [
        testSlice("ns1", "svc1", [{ ip: "10.0.1.1" }], [{ name: "p80", port: 80 }]),
        testSlice("ns3", "svc3", [{ ip: "10.0.3.1" }], [{ name: "p80", port: 80 }]),
        testSlice("ns4", "svc4", [{ ip: "10.0.4.1" }], [{ name: "p80", port: 80 }]),
      ],
    );
    const after: ClusterState = {
      ...before,
      endpointSlices: [before.endpointSlices[0], testSlice("ns3", "svc3", [{ ip: "10.0.3.2" }], [{ name: "p80", port: 80 }]), before.endpointSlices[2]],
    };
    const options = { ...KUBE_PROXY_UNIT_TEST_OPTIONS, nodeName: TEST_NODE_NAME };
    const first = compileIptables(before, options);
    const changed = new Set(["ns3/svc3"]);
    const second = first.update(after, changed);
    expect(second.render()).toBe(compileIptables(after, options).render());
    const partial = second.renderPartial(changed, first);
    const expected = readFileSync(join(FIXTURES, "kube-proxy", "TestSyncProxyRulesRepeated.endpoint-changed.rules"), "utf8");
    expect(sortLikeKubeProxy(partial.text)).toBe(sortLikeKubeProxy(expected));
    expect(partial.text).toContain("-X KUBE-SEP-BSWRHOQ77KEXZLNL\n");
    expect(partial.counts.skippedNatRules).toBe(2 * 4);
  });
});
