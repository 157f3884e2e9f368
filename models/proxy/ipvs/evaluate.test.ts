/**
 * IPVS evaluation: schedulers (rr cycles, sh sticks per source, dh per destination, lc/sed/nq
 * follow the connection counts), persistence, rejects and drops, masquerade decisions, and the
 * first packet's work, flat in the number of Services.
 */
import { describe, expect, test } from "vitest";
import { createStream } from "../../../sim/random.js";
import { formatIPv4, parseIPv4 } from "../../network/ip.js";
import type { Packet, UniformSource } from "../types.js";
import { TEST_NODE, buildCluster } from "../nftables/testClusters.js";
import type { ServiceSpec } from "../nftables/testClusters.js";
import { SYNTHETIC_CLUSTER_CIDR, syntheticCluster } from "../synthetic.js";
import type { IpvsScheduler } from "./compile.js";
import { compileIpvs } from "./dataplane.js";
import type { IpvsDataPlane } from "./dataplane.js";

const NODE_IP = "192.168.0.2";
const POD = "10.0.0.2";
const EXTERNAL = "203.0.113.2";
/** IPVS schedulers are deterministic: a draw would be a bug. */
const NO_DRAW: UniformSource = {
  next: () => {
    throw new Error("IPVS drew a random number");
  },
};

function plane(services: ServiceSpec[], scheduler: IpvsScheduler = "rr"): IpvsDataPlane {
  return compileIpvs(buildCluster({ nodes: [{ name: TEST_NODE, ip: NODE_IP }, { name: "node-2", ip: "192.168.0.3" }], services }), {
    nodeName: TEST_NODE,
    clusterCIDR: "10.0.0.0/8",
    ipvsScheduler: scheduler,
  });
}

function packet(src: string, dst: string, port: number, protocol: Packet["protocol"] = "TCP"): Packet {
  return {
    srcIP: parseIPv4(src),
    srcPort: 33333,
    dstIP: parseIPv4(dst),
    dstPort: port,
    protocol,
    ingress: src === NODE_IP || src.startsWith("10.") ? "local" : "external",
  };
}

const FOUR: ServiceSpec = {
  ns: "ns1",
  name: "web",
  clusterIP: "172.30.0.41",
  ports: [{ name: "http", port: 80, targetPort: 8080 }],
  endpoints: [{ ip: "10.180.0.1" }, { ip: "10.180.0.2" }, { ip: "10.180.0.3" }, { ip: "10.180.0.4" }],
};

function endpoint(p: IpvsDataPlane, src: string, dst = "172.30.0.41", port = 80): string {
  const v = p.evaluate(packet(src, dst, port), NO_DRAW);
  expect(v.action).toBe("dnat");
  return formatIPv4(v.endpointIP as number);
}

describe("IPVS schedulers", () => {
  test("rr cycles through the real servers in order", () => {
    const p = plane([FOUR], "rr");
    const seen = Array.from({ length: 8 }, (_, i) => endpoint(p, `10.0.0.${i + 10}`));
    expect(seen).toEqual(["10.180.0.1", "10.180.0.2", "10.180.0.3", "10.180.0.4", "10.180.0.1", "10.180.0.2", "10.180.0.3", "10.180.0.4"]);
  });

  test("sh is sticky per source and spreads sources", () => {
    const p = plane([FOUR], "sh");
    const bySource = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 64; i++) {
        const src = `10.0.${i}.${i + 1}`;
        const ep = endpoint(p, src);
        if (round === 0) bySource.set(src, ep);
        else expect(ep, src).toBe(bySource.get(src));
      }
    }
    expect(new Set(bySource.values()).size).toBe(4);
  });

  test("sh maps a source through hash_32(src, 8) into 256 buckets filled round-robin", () => {
    const p = plane([FOUR], "sh");
    const src = parseIPv4("10.0.7.9");
    const bucket = Math.imul(src, 0x61c88647) >>> 24;
    expect(endpoint(p, "10.0.7.9")).toBe(`10.180.0.${(bucket % 4) + 1}`);
  });

  test("dh sends everything to one real server (the destination is the virtual address)", () => {
    const p = plane([FOUR], "dh");
    const seen = new Set(Array.from({ length: 20 }, (_, i) => endpoint(p, `10.0.1.${i + 1}`)));
    expect(seen.size).toBe(1);
  });

  test("lc picks the least loaded real server; connectionClosed frees it again", () => {
    const p = plane([FOUR], "lc");
    const vs = "TCP 172.30.0.41:80";
    // Four connections: one per server, in list order (ties go to the first).
    expect(Array.from({ length: 4 }, () => endpoint(p, POD))).toEqual(["10.180.0.1", "10.180.0.2", "10.180.0.3", "10.180.0.4"]);
    // Close two on .3: it is now the least loaded, twice.
    p.connectionClosed(vs, "10.180.0.3:8080");
    expect(endpoint(p, POD)).toBe("10.180.0.3");
    p.connectionClosed(vs, "10.180.0.2:8080");
    p.connectionClosed(vs, "10.180.0.2:8080"); // below zero is ignored
    expect(endpoint(p, POD)).toBe("10.180.0.2");
    expect(p.connections(vs)).toEqual(
      new Map([
        ["10.180.0.1:8080", 1],
        ["10.180.0.2:8080", 1],
        ["10.180.0.3:8080", 1],
        ["10.180.0.4:8080", 1],
      ]),
    );
  });

  test("lc keeps 1000 connections balanced within one across real servers", () => {
    const p = plane([FOUR], "lc");
    for (let i = 0; i < 1000; i++) endpoint(p, POD);
    const counts = [...p.connections("TCP 172.30.0.41:80").values()];
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  test("nq takes the first idle server, then the shortest expected delay", () => {
    const p = plane([FOUR], "nq");
    const vs = "TCP 172.30.0.41:80";
    expect(Array.from({ length: 5 }, () => endpoint(p, POD))).toEqual(["10.180.0.1", "10.180.0.2", "10.180.0.3", "10.180.0.4", "10.180.0.1"]);
    p.connectionClosed(vs, "10.180.0.4:8080");
    expect(endpoint(p, POD)).toBe("10.180.0.4");
  });

  test("sed with equal weights follows the active counts", () => {
    const p = plane([FOUR], "sed");
    for (let i = 0; i < 8; i++) endpoint(p, POD);
    p.connectionClosed("TCP 172.30.0.41:80", "10.180.0.2:8080");
    expect(endpoint(p, POD)).toBe("10.180.0.2");
  });

  test("persistence (ClientIP affinity) pins a client until the template expires", () => {
    const p = plane([{ ...FOUR, affinity: 30 }], "rr");
    const first = endpoint(p, "10.0.0.77");
    for (let t = 0; t < 5; t++) {
      p.setTime(t * 10e9);
      expect(endpoint(p, "10.0.0.77")).toBe(first);
    }
    // Other clients still rotate.
    expect(new Set(Array.from({ length: 4 }, (_, i) => endpoint(p, `10.0.1.${i + 1}`))).size).toBe(4);
    p.setTime(40e9 + 31e9);
    const later = new Set(Array.from({ length: 4 }, () => endpoint(p, "10.0.0.77")));
    expect(later.size).toBe(1); // a new template, pinned again
  });

  test("inheritStateFrom keeps counts and templates of surviving real servers", () => {
    const before = plane([{ ...FOUR, affinity: 600 }], "lc");
    const chosen = endpoint(before, "10.0.0.5");
    const after = plane([{ ...FOUR, affinity: 600, endpoints: [...(FOUR.endpoints ?? []), { ip: "10.180.0.9" }] }], "lc");
    after.inheritStateFrom(before);
    expect(endpoint(after, "10.0.0.5")).toBe(chosen);
    expect(after.connections("TCP 172.30.0.41:80").get(`${chosen}:8080`)).toBe(2);
  });
});

describe("IPVS verdicts", () => {
  const services: ServiceSpec[] = [
    FOUR,
    { ns: "ns1", name: "empty", clusterIP: "172.30.0.46", ports: [{ port: 80 }] },
    {
      ns: "ns1",
      name: "lb",
      type: "LoadBalancer",
      clusterIP: "172.30.0.45",
      ports: [{ name: "p80", port: 80, nodePort: 30080 }],
      lbIngress: ["5.6.7.8"],
      sourceRanges: ["203.0.113.0/25"],
      endpoints: [{ ip: "10.180.1.3", node: "node-2" }],
    },
    {
      ns: "ns1",
      name: "local",
      type: "NodePort",
      eTP: "Local",
      clusterIP: "172.30.0.47",
      ports: [{ port: 80, nodePort: 30081 }],
      endpoints: [{ ip: "10.180.0.5", node: TEST_NODE }, { ip: "10.180.1.5", node: "node-2" }],
    },
  ];

  test("reject, drop, DNAT and masquerade decisions", () => {
    const p = plane(services);
    const cases: Array<[string, Packet, string, boolean]> = [
      ["pod to ClusterIP", packet(POD, "172.30.0.41", 80), "dnat", false],
      ["node to ClusterIP", packet(NODE_IP, "172.30.0.41", 80), "dnat", true],
      ["external to ClusterIP", packet(EXTERNAL, "172.30.0.41", 80), "dnat", true],
      ["virtual server without real servers", packet(POD, "172.30.0.46", 80), "reject", false],
      ["a port the ClusterIP does not serve (KUBE-IPVS-FILTER)", packet(EXTERNAL, "172.30.0.41", 443), "reject", false],
      ["allowed source to LB", packet(EXTERNAL, "5.6.7.8", 80), "dnat", true],
      ["blocked source to LB", packet("203.0.113.130", "5.6.7.8", 80), "drop", false],
      ["node to an LB that excludes it (KUBE-IPVS-OUT-FILTER)", packet(NODE_IP, "5.6.7.8", 80), "drop", false],
      ["external to NodePort", packet(EXTERNAL, NODE_IP, 30080), "dnat", true],
      ["external to Local NodePort: local endpoint, source kept", packet(EXTERNAL, NODE_IP, 30081), "dnat", false],
      ["not a Service", packet(POD, "8.8.8.8", 53, "UDP"), "none", false],
    ];
    for (const [name, pkt, action, masq] of cases) {
      const v = p.evaluate(pkt, NO_DRAW);
      expect(v.action, name).toBe(action);
      expect(v.masquerade, `${name}: masquerade`).toBe(masq);
    }
    const local = p.evaluate(packet(EXTERNAL, NODE_IP, 30081), NO_DRAW);
    expect(formatIPv4(local.endpointIP as number)).toBe("10.180.0.5");
  });

  test("hairpin: an endpoint reaching itself through its Service is masqueraded (KUBE-LOOP-BACK)", () => {
    const p = plane([
      { ns: "ns1", name: "self", clusterIP: "172.30.0.50", ports: [{ port: 80 }], endpoints: [{ ip: "10.180.0.9", node: TEST_NODE }] },
    ]);
    const v = p.evaluate(packet("10.180.0.9", "172.30.0.50", 80), NO_DRAW);
    expect(v.action).toBe("dnat");
    expect(v.masquerade).toBe(true);
    expect(p.evaluate(packet("10.180.0.8", "172.30.0.50", 80), NO_DRAW).masquerade).toBe(false);
  });

  test("the verdict names the virtual and real server", () => {
    const p = plane([FOUR]);
    const v = p.evaluate(packet(POD, "172.30.0.41", 80), NO_DRAW);
    expect(v.virtualServer).toBe("TCP 172.30.0.41:80");
    expect(v.realServer).toBe("10.180.0.1:8080");
  });

  test("the first packet's work: one ipset/iptables pass, one IPVS lookup, the scheduler", () => {
    const p = plane([FOUR]);
    const v = p.evaluate(packet(POD, "172.30.0.41", 80), NO_DRAW);
    // nat PREROUTING (1 rule) → KUBE-SERVICES: loopback RETURN test (1 match), cluster-IP
    // masquerade rule (set hit, source test fails: 2), addrtype LOCAL (1) → KUBE-NODE-PORT
    // (empty), ACCEPT on the cluster-IP set (1): 5 rules, 5 matches, 2 lookups, 2 jumps.
    // filter INPUT (3 rules) → KUBE-IPVS-FILTER (load-balancer set miss, cluster-IP set hit →
    // RETURN), KUBE-PROXY-FIREWALL (empty), KUBE-NODE-PORT (health-check set miss): 6 rules,
    // 3 matches, 3 lookups, 3 jumps. IPVS: 1 lookup, rr examines 1 server (1 match).
    // nat POSTROUTING (1 rule) → KUBE-POSTROUTING (mark test → RETURN): 2 rules, 1 match, 1 jump.
    expect(v.work).toEqual({ rulesTraversed: 13, matchesTried: 10, mapLookups: 6, chainJumps: 6 });
  });

  test("first-packet work is the same with 1k and 10k Services", () => {
    const works = new Set<string>();
    for (const n of [1000, 10_000]) {
      const cluster = syntheticCluster({ services: n, endpointsPerService: 4, nodes: 3 });
      const p = compileIpvs(cluster, { nodeName: "node-1", clusterCIDR: SYNTHETIC_CLUSTER_CIDR });
      for (const svc of [cluster.services[0], cluster.services[n - 1]]) {
        const v = p.evaluate(
          { srcIP: parseIPv4("10.200.0.9"), srcPort: 1, dstIP: parseIPv4(svc.clusterIP as string), dstPort: 80, protocol: "TCP", ingress: "local" },
          createStream(1, 0, "unused"),
        );
        expect(v.action).toBe("dnat");
        works.add(JSON.stringify(v.work));
      }
    }
    expect(works.size).toBe(1);
  });

  test("updateFrom lists the ipvsadm and ipset operations of a change", () => {
    const before = plane([FOUR]);
    const after = plane([{ ...FOUR, endpoints: [{ ip: "10.180.0.1" }, { ip: "10.180.0.2" }, { ip: "10.180.0.7" }] }, services[1]]);
    const u = after.updateFrom(before);
    expect(u.ipvsadm).toEqual([
      "-a -t 172.30.0.41:80 -r 10.180.0.7:8080 -m -w 1",
      "-d -t 172.30.0.41:80 -r 10.180.0.3:8080",
      "-d -t 172.30.0.41:80 -r 10.180.0.4:8080",
      "-A -t 172.30.0.46:80 -s rr",
    ]);
    expect(u.ipset).toEqual(["add KUBE-CLUSTER-IP 172.30.0.46,tcp:80", "add KUBE-IPVS-IPS 172.30.0.46"]);
    expect(after.syncWritesFrom(before)).toMatchObject({ rulesWritten: 4, elementsWritten: 2, tableRules: 5 });
    // Against itself, or an equal plane compiled anew: nothing to write.
    const again = plane([{ ...FOUR, endpoints: [{ ip: "10.180.0.1" }, { ip: "10.180.0.2" }, { ip: "10.180.0.7" }] }, services[1]]);
    expect(after.updateFrom(after)).toEqual(after.updateFrom(again));
    expect(after.updateFrom(after)).toEqual({ ipvsadm: [], ipset: [], iptablesRules: u.iptablesRules });
  });
});
