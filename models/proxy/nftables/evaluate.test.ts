/**
 * Packet evaluation against the compiled table. The flows replay kube-proxy's own packet-flow
 * tests (pkg/proxy/nftables/proxier_test.go, runPacketFlowTests): same clusters, same sources,
 * same expected endpoints ("a, b" = any of them, over many draws), same masquerade decisions.
 */
import { describe, expect, test } from "vitest";
import { createStream } from "../../../sim/random.js";
import type { Protocol } from "../../cluster/types.js";
import { parseIPv4, formatIPv4 } from "../../network/ip.js";
import type { Packet, UniformSource } from "../types.js";
import { compileNftables } from "./dataplane.js";
import type { NftablesDataPlane } from "./dataplane.js";
import {
  KUBE_PROXY_TEST_POD_CIDR,
  LB_SOURCE_RANGES_SVC,
  NO_ENDPOINTS_LB_SVC,
  TEST_NODE,
  TEST_NODE_IP,
  buildCluster,
  internalExternalMasqueradeCluster,
  overallCluster,
} from "./testClusters.js";
import type { ServiceSpec } from "./testClusters.js";
import { SYNTHETIC_CLUSTER_CIDR, syntheticCluster } from "../synthetic.js";

const POD = "10.0.0.2";
const EXTERNAL = "203.0.113.2";
const EXTERNAL_BLOCKED = "203.0.113.130";

function plane(services: ServiceSpec[]): NftablesDataPlane {
  return compileNftables(buildCluster({ services }), { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR });
}

function packet(src: string, dst: string, port: number, protocol: Protocol = "TCP"): Packet {
  return {
    srcIP: parseIPv4(src),
    srcPort: 40000,
    dstIP: parseIPv4(dst),
    dstPort: port,
    protocol,
    ingress: src === TEST_NODE_IP || src.startsWith("10.") ? "local" : "external",
  };
}

interface Flow {
  name: string;
  src: string;
  dst: string;
  port: number;
  protocol?: Protocol;
  /** "ip:port, ip:port" (sorted), "REJECT", "DROP", or "" (not a Service). */
  output: string;
  masq?: boolean;
}

/** Runs a flow 200 times and reports what kube-proxy's tracer reports. */
function trace(p: NftablesDataPlane, f: Flow, rng: UniformSource): { output: string; masq: boolean } {
  const seen = new Set<string>();
  const masq = new Set<boolean>();
  for (let i = 0; i < 200; i++) {
    const v = p.evaluate(packet(f.src, f.dst, f.port, f.protocol), rng);
    if (v.action === "dnat") seen.add(`${formatIPv4(v.endpointIP as number)}:${v.endpointPort}`);
    else seen.add(v.action === "none" ? "" : v.action.toUpperCase());
    masq.add(v.masquerade);
  }
  expect(masq.size, `${f.name}: masquerade decided the same way every time`).toBe(1);
  const sortKey = (s: string): number => (s.includes(":") ? parseIPv4(s.split(":")[0]) : -1);
  return { output: [...seen].sort((a, b) => sortKey(a) - sortKey(b)).join(", "), masq: [...masq][0] };
}

function runFlows(p: NftablesDataPlane, flows: Flow[]): void {
  const rng = createStream(7, 0, "nftables-flows");
  for (const f of flows) {
    const got = trace(p, f, rng);
    expect(got.output, f.name).toBe(f.output);
    if (f.masq !== undefined) expect(got.masq, `${f.name}: masquerade`).toBe(f.masq);
  }
}

describe("nftables packet flows (kube-proxy's tests)", () => {
  test("TestClusterIPGeneral", () => {
    const p = plane([
      { ns: "ns1", name: "svc1", clusterIP: "172.30.0.41", ports: [{ name: "http", port: 80 }], endpoints: [{ ip: "10.180.0.1", node: TEST_NODE }] },
      {
        ns: "ns2",
        name: "svc2",
        clusterIP: "172.30.0.42",
        ports: [
          { name: "http", port: 80 },
          { name: "https", port: 443, targetPort: 8443 },
          { name: "dns-udp", protocol: "UDP", port: 53 },
          { name: "dns-tcp", port: 53, targetPort: 5353 },
          { name: "dns-sctp", protocol: "SCTP", port: 53 },
        ],
        endpoints: [{ ip: "10.180.0.1", node: TEST_NODE }, { ip: "10.180.2.1", node: "node2" }],
      },
    ]);
    runFlows(p, [
      { name: "simple clusterIP", src: "10.180.0.2", dst: "172.30.0.41", port: 80, output: "10.180.0.1:80", masq: false },
      { name: "hairpin to cluster IP", src: "10.180.0.1", dst: "172.30.0.41", port: 80, output: "10.180.0.1:80", masq: true },
      { name: "clusterIP with multiple endpoints", src: "10.180.0.2", dst: "172.30.0.42", port: 80, output: "10.180.0.1:80, 10.180.2.1:80", masq: false },
      { name: "clusterIP with TargetPort", src: "10.180.0.2", dst: "172.30.0.42", port: 443, output: "10.180.0.1:8443, 10.180.2.1:8443", masq: false },
      { name: "TCP on a port shared with UDP and SCTP", src: "10.180.0.2", dst: "172.30.0.42", port: 53, output: "10.180.0.1:5353, 10.180.2.1:5353" },
      { name: "UDP on a shared port", src: "10.180.0.2", dst: "172.30.0.42", port: 53, protocol: "UDP", output: "10.180.0.1:53, 10.180.2.1:53" },
      { name: "SCTP on a shared port", src: "10.180.0.2", dst: "172.30.0.42", port: 53, protocol: "SCTP", output: "10.180.0.1:53, 10.180.2.1:53" },
      { name: "TCP-only port does not match UDP traffic", src: "10.180.0.2", dst: "172.30.0.42", port: 80, protocol: "UDP", output: "REJECT" },
      { name: "svc1 does not accept svc2's ports", src: "10.180.0.2", dst: "172.30.0.41", port: 443, output: "REJECT" },
      { name: "packet to unallocated cluster ip", src: "10.180.0.2", dst: "172.30.0.50", port: 80, output: "DROP" },
      { name: "not a Service address at all", src: "10.180.0.2", dst: "8.8.8.8", port: 53, protocol: "UDP", output: "", masq: false },
    ]);
  });

  test("TestLoadBalancer (source ranges)", () => {
    const p = plane([LB_SOURCE_RANGES_SVC]);
    const ep = "10.180.0.1:80";
    runFlows(p, [
      { name: "pod to cluster IP", src: POD, dst: "172.30.0.41", port: 80, output: ep, masq: false },
      { name: "external to nodePort", src: EXTERNAL, dst: TEST_NODE_IP, port: 3001, output: ep, masq: true },
      { name: "nodePort bypasses LoadBalancerSourceRanges", src: EXTERNAL_BLOCKED, dst: TEST_NODE_IP, port: 3001, output: ep, masq: true },
      { name: "accepted external to LB1", src: EXTERNAL, dst: "1.2.3.4", port: 80, output: ep, masq: true },
      { name: "accepted external to LB2", src: EXTERNAL, dst: "5.6.7.8", port: 80, output: ep, masq: true },
      { name: "blocked external to LB1", src: EXTERNAL_BLOCKED, dst: "1.2.3.4", port: 80, output: "DROP" },
      { name: "blocked external to LB2", src: EXTERNAL_BLOCKED, dst: "5.6.7.8", port: 80, output: "DROP" },
      { name: "pod to LB1 (blocked by LoadBalancerSourceRanges)", src: POD, dst: "1.2.3.4", port: 80, output: "DROP" },
      { name: "node to LB1 (allowed by LoadBalancerSourceRanges)", src: TEST_NODE_IP, dst: "1.2.3.4", port: 80, output: ep, masq: true },
      { name: "same node to LB1, SNATted to LB1 (implicitly allowed)", src: "1.2.3.4", dst: "1.2.3.4", port: 80, output: ep, masq: true },
    ]);
  });

  test("TestNoEndpointsReject", () => {
    const p = plane([NO_ENDPOINTS_LB_SVC]);
    runFlows(p, [
      { name: "pod to cluster IP with no endpoints", src: POD, dst: "172.30.0.41", port: 80, output: "REJECT" },
      { name: "external to external IP with no endpoints", src: EXTERNAL, dst: "192.168.99.11", port: 80, output: "REJECT" },
      { name: "pod to NodePort with no endpoints", src: POD, dst: TEST_NODE_IP, port: 3001, output: "REJECT" },
      { name: "external to NodePort with no endpoints", src: EXTERNAL, dst: TEST_NODE_IP, port: 3001, output: "REJECT" },
      { name: "pod to LoadBalancer IP with no endpoints", src: POD, dst: "1.2.3.4", port: 80, output: "REJECT" },
      { name: "external to LoadBalancer IP with no endpoints", src: EXTERNAL, dst: "1.2.3.4", port: 80, output: "REJECT" },
    ]);
  });

  test("TestInternalExternalMasquerade (base case)", () => {
    const p = compileNftables(internalExternalMasqueradeCluster(), { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR });
    const all1 = "10.180.0.1:80, 10.180.1.1:80";
    const all2 = "10.180.0.2:80, 10.180.1.2:80";
    const all3 = "10.180.0.3:80, 10.180.1.3:80";
    runFlows(p, [
      { name: "pod to ClusterIP", src: POD, dst: "172.30.0.41", port: 80, output: all1, masq: false },
      { name: "pod to NodePort", src: POD, dst: TEST_NODE_IP, port: 3001, output: all1, masq: true },
      { name: "pod to LB", src: POD, dst: "1.2.3.4", port: 80, output: all1, masq: true },
      { name: "node to ClusterIP", src: TEST_NODE_IP, dst: "172.30.0.41", port: 80, output: all1, masq: true },
      { name: "node to NodePort", src: TEST_NODE_IP, dst: TEST_NODE_IP, port: 3001, output: all1, masq: true },
      { name: "node to LB", src: TEST_NODE_IP, dst: "1.2.3.4", port: 80, output: all1, masq: true },
      { name: "external to ClusterIP", src: EXTERNAL, dst: "172.30.0.41", port: 80, output: all1, masq: true },
      { name: "external to NodePort", src: EXTERNAL, dst: TEST_NODE_IP, port: 3001, output: all1, masq: true },
      { name: "external to LB", src: EXTERNAL, dst: "1.2.3.4", port: 80, output: all1, masq: true },
      { name: "pod to ClusterIP with eTP:Local", src: POD, dst: "172.30.0.42", port: 80, output: all2, masq: false },
      { name: "pod to NodePort with eTP:Local", src: POD, dst: TEST_NODE_IP, port: 3002, output: all2, masq: false },
      { name: "pod to LB with eTP:Local", src: POD, dst: "5.6.7.8", port: 80, output: all2, masq: false },
      { name: "node to ClusterIP with eTP:Local", src: TEST_NODE_IP, dst: "172.30.0.42", port: 80, output: all2, masq: true },
      { name: "node to NodePort with eTP:Local", src: TEST_NODE_IP, dst: TEST_NODE_IP, port: 3002, output: all2, masq: true },
      { name: "node to LB with eTP:Local", src: TEST_NODE_IP, dst: "5.6.7.8", port: 80, output: all2, masq: true },
      { name: "external to ClusterIP with eTP:Local", src: EXTERNAL, dst: "172.30.0.42", port: 80, output: all2, masq: true },
      { name: "external to NodePort with eTP:Local", src: EXTERNAL, dst: TEST_NODE_IP, port: 3002, output: "10.180.0.2:80", masq: false },
      { name: "external to LB with eTP:Local", src: EXTERNAL, dst: "5.6.7.8", port: 80, output: "10.180.0.2:80", masq: false },
      { name: "pod to ClusterIP with iTP:Local", src: POD, dst: "172.30.0.43", port: 80, output: "10.180.0.3:80", masq: false },
      { name: "pod to NodePort with iTP:Local", src: POD, dst: TEST_NODE_IP, port: 3003, output: all3, masq: true },
      { name: "pod to LB with iTP:Local", src: POD, dst: "9.10.11.12", port: 80, output: all3, masq: true },
      { name: "node to ClusterIP with iTP:Local", src: TEST_NODE_IP, dst: "172.30.0.43", port: 80, output: "10.180.0.3:80", masq: true },
      { name: "node to NodePort with iTP:Local", src: TEST_NODE_IP, dst: TEST_NODE_IP, port: 3003, output: all3, masq: true },
      { name: "node to LB with iTP:Local", src: TEST_NODE_IP, dst: "9.10.11.12", port: 80, output: all3, masq: true },
      { name: "external to ClusterIP with iTP:Local", src: EXTERNAL, dst: "172.30.0.43", port: 80, output: "10.180.0.3:80", masq: true },
      { name: "external to NodePort with iTP:Local", src: EXTERNAL, dst: TEST_NODE_IP, port: 3003, output: all3, masq: true },
      { name: "external to LB with iTP:Local", src: EXTERNAL, dst: "9.10.11.12", port: 80, output: all3, masq: true },
    ]);
  });

  test("TestInternalTrafficPolicy: Local without a local endpoint drops", () => {
    const p = plane([
      {
        ns: "ns1",
        name: "svc1",
        iTP: "Local",
        clusterIP: "172.30.1.1",
        ports: [{ port: 80 }],
        endpoints: [{ ip: "10.0.1.1", node: "node0" }, { ip: "10.0.1.2", node: "node1" }],
      },
    ]);
    runFlows(p, [{ name: "no endpoints", src: POD, dst: "172.30.1.1", port: 80, output: "DROP" }]);
  });

  test("TestTerminatingEndpointsTrafficPolicyLocal: only terminating local endpoints", () => {
    const p = plane([
      {
        ns: "ns1",
        name: "svc1",
        type: "LoadBalancer",
        eTP: "Local",
        clusterIP: "172.30.1.1",
        ports: [{ port: 80 }],
        lbIngress: ["1.2.3.4"],
        endpoints: [
          { ip: "10.0.1.2", node: TEST_NODE, ready: false, serving: true, terminating: true },
          { ip: "10.0.1.3", node: TEST_NODE, ready: false, serving: true, terminating: true },
          { ip: "10.0.1.4", node: TEST_NODE, ready: false, serving: false, terminating: true },
          { ip: "10.0.1.5", node: "node-1", ready: true, serving: true, terminating: false },
        ],
      },
    ]);
    runFlows(p, [
      { name: "pod to clusterIP", src: POD, dst: "172.30.1.1", port: 80, output: "10.0.1.5:80", masq: false },
      { name: "external to LB", src: EXTERNAL, dst: "1.2.3.4", port: 80, output: "10.0.1.2:80, 10.0.1.3:80", masq: false },
    ]);
  });
});

describe("nftables evaluation mechanics", () => {
  test("numgen spreads new connections uniformly (chi-square, 9 degrees of freedom)", () => {
    const endpoints = Array.from({ length: 10 }, (_, i) => ({ ip: `10.180.0.${i + 1}` }));
    const p = plane([{ ns: "ns1", name: "svc1", clusterIP: "172.30.0.41", ports: [{ port: 80 }], endpoints }]);
    const rng = createStream(11, 0, "numgen");
    const n = 100_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const v = p.evaluate(packet(POD, "172.30.0.41", 80), rng);
      counts.set(v.endpointIP as number, (counts.get(v.endpointIP as number) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    const expected = n / 10;
    let chi2 = 0;
    for (const c of counts.values()) chi2 += ((c - expected) * (c - expected)) / expected;
    // P(chi2_9 > 27.88) = 0.001: a fair draw fails this one time in a thousand seeds.
    expect(chi2).toBeLessThan(27.88);
  });

  test("numgen draws once per new connection and maps u to floor(u * N)", () => {
    const endpoints = [{ ip: "10.180.0.1" }, { ip: "10.180.0.2" }, { ip: "10.180.0.3" }];
    const p = plane([{ ns: "ns1", name: "svc1", clusterIP: "172.30.0.41", ports: [{ port: 80 }], endpoints }]);
    for (const [u, ep] of [
      [0, "10.180.0.1"],
      [0.333, "10.180.0.1"],
      [0.334, "10.180.0.2"],
      [0.999, "10.180.0.3"],
    ] as const) {
      let draws = 0;
      const v = p.evaluate(packet(POD, "172.30.0.41", 80), {
        next: () => {
          draws++;
          return u;
        },
      });
      expect(formatIPv4(v.endpointIP as number)).toBe(ep);
      expect(draws).toBe(1);
    }
  });

  test("ClientIP affinity: a client sticks to its endpoint until the timeout, without drawing", () => {
    const endpoints = Array.from({ length: 5 }, (_, i) => ({ ip: `10.180.0.${i + 1}` }));
    const p = plane([{ ns: "ns1", name: "svc1", clusterIP: "172.30.0.41", ports: [{ port: 80 }], affinity: 60, endpoints }]);
    const rng = createStream(3, 0, "affinity");
    const first = p.evaluate(packet(POD, "172.30.0.41", 80), rng).endpointIP;
    const noDraw: UniformSource = {
      next: () => {
        throw new Error("drew a random number despite affinity");
      },
    };
    for (let t = 0; t < 10; t++) {
      p.setTime(t * 5e9);
      const v = p.evaluate(packet(POD, "172.30.0.41", 80), noDraw);
      expect(v.endpointIP).toBe(first);
      expect(v.work.chainJumps).toBeGreaterThan(0);
    }
    // 61 s after the last connection the entry has expired: the next connection draws again.
    p.setTime(45e9 + 61e9);
    let drew = false;
    p.evaluate(packet(POD, "172.30.0.41", 80), {
      next: () => {
        drew = true;
        return 0.5;
      },
    });
    expect(drew).toBe(true);
    // Another client is free to land anywhere.
    const other = new Set<number>();
    for (let i = 0; i < 50; i++) other.add(p.evaluate(packet(`10.0.0.${10 + i}`, "172.30.0.41", 80), rng).endpointIP as number);
    expect(other.size).toBeGreaterThan(1);
  });

  test("the work of a pod's first packet to a ClusterIP, counted rule by rule", () => {
    const p = compileNftables(overallCluster(), { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR });
    const v = p.evaluate(packet(POD, "172.30.0.41", 80), createStream(1, 0, "w"));
    expect(v.action).toBe("dnat");
    // filter-prerouting-pre-dnat → firewall-check (miss); nat-prerouting → services → service
    // chain (masquerade test, numgen) → endpoint chain (hairpin test, DNAT); filter-forward →
    // service-endpoints-check (miss), cluster-ips-check (2 misses); nat-postrouting → masquerading.
    expect(v.work).toEqual({ rulesTraversed: 15, matchesTried: 10, mapLookups: 6, chainJumps: 7 });
  });

  test("first-packet work is the same with 1k and 10k Services, for the first and the last Service", () => {
    const works: string[] = [];
    for (const services of [1000, 10_000]) {
      const cluster = syntheticCluster({ services, endpointsPerService: 4, nodes: 3 });
      const p = compileNftables(cluster, { nodeName: "node-1", clusterCIDR: SYNTHETIC_CLUSTER_CIDR });
      for (const svc of [cluster.services[0], cluster.services[services - 1]]) {
        const v = p.evaluate(
          { srcIP: parseIPv4("10.200.0.9"), srcPort: 5555, dstIP: parseIPv4(svc.clusterIP as string), dstPort: 80, protocol: "TCP", ingress: "local" },
          createStream(5, 0, "flat"),
        );
        expect(v.action).toBe("dnat");
        works.push(JSON.stringify(v.work));
      }
    }
    expect(new Set(works).size).toBe(1);
  });

  test("inheritStateFrom keeps affinity entries of sets that survive a recompile", () => {
    const svc: ServiceSpec = { ns: "ns1", name: "svc1", clusterIP: "172.30.0.41", ports: [{ port: 80 }], affinity: 600, endpoints: [{ ip: "10.180.0.1" }, { ip: "10.180.0.2" }] };
    const before = plane([svc]);
    const chosen = before.evaluate(packet(POD, "172.30.0.41", 80), createStream(9, 0, "a")).endpointIP;
    const after = compileNftables(buildCluster({ services: [svc, { ...svc, name: "svc2", clusterIP: "172.30.0.42" }] }), {
      nodeName: TEST_NODE,
      clusterCIDR: KUBE_PROXY_TEST_POD_CIDR,
    }, before);
    after.inheritStateFrom(before);
    const v = after.evaluate(packet(POD, "172.30.0.41", 80), { next: () => 0.99 });
    expect(v.endpointIP).toBe(chosen);
  });
});
