/**
 * The fast path equals the interpreter: over random clusters and random first packets, fed two
 * copies of the same random sequence, both give the same verdict, endpoint, masquerade decision
 * and Work, and consume the same number of draws.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClusterState, EndpointSliceState, Protocol, ServiceState } from "../../cluster/types.js";
import { parseIPv4 } from "../../network/ip.js";
import type { Packet } from "../types.js";
import { RecentTable } from "./affinity.js";
import { compileIptables, interpretIptables, prepareRuleset } from "./index.js";
import type { IptablesOptions } from "./options.js";
import { parseIptablesRestore } from "./parse.js";
import { countRules, renderModel } from "./render.js";
import { ReplayRandom, TEST_NODE_NAME, testCluster, testService, testSlice, tcpPort } from "./testing.js";

const PROTOCOLS: Protocol[] = ["TCP", "UDP", "SCTP"];
const CLUSTER_IPS = ["172.30.0.1", "172.30.0.2", "172.30.0.3", "172.30.0.4", "172.30.0.5", "172.30.0.6"];
const EXTERNAL_IPS = ["192.168.99.1", "192.168.99.2"];
const LB_IPS = ["1.2.3.4", "5.6.7.8"];
const SOURCE_RANGES = ["203.0.113.0/25", "10.0.0.0/8", "192.168.0.0/24", " 1.2.3.0/24"];
const PORTS = [80, 443, 53];
const NODE_PORTS = [30001, 30002, 30003];
const ENDPOINT_IPS = ["10.180.0.1", "10.180.0.2", "10.180.0.3", "10.180.1.1", "10.180.1.2"];

const endpointArb = fc.record({
  ip: fc.constantFrom(...ENDPOINT_IPS),
  node: fc.constantFrom(TEST_NODE_NAME, "node2", undefined),
  state: fc.constantFrom("ready", "ready", "ready", "terminating-serving", "terminating", "not-ready"),
});

const portArb = fc.record({
  protocol: fc.constantFrom(...PROTOCOLS),
  port: fc.constantFrom(...PORTS),
  nodePort: fc.constantFrom(...NODE_PORTS),
  inSlice: fc.boolean(),
  named: fc.boolean(),
});

const serviceArb = (affinity: boolean) =>
  fc.record({
    type: fc.constantFrom("ClusterIP", "NodePort", "LoadBalancer"),
    clusterIP: fc.constantFrom(...CLUSTER_IPS),
    ports: fc.array(portArb, { minLength: 1, maxLength: 3 }),
    externalIPs: fc.subarray(EXTERNAL_IPS),
    lbIPs: fc.subarray(LB_IPS),
    sourceRanges: fc.subarray(SOURCE_RANGES),
    etp: fc.constantFrom("Cluster", "Local"),
    itp: fc.constantFrom("Cluster", "Cluster", "Local"),
    affinity: affinity ? fc.boolean() : fc.constant(false),
    endpoints: fc.array(endpointArb, { maxLength: 4 }),
  });

type GenService = ReturnType<typeof serviceArb> extends fc.Arbitrary<infer T> ? T : never;

function buildCluster(specs: GenService[]): ClusterState {
  const services: ServiceState[] = [];
  const slices: EndpointSliceState[] = [];
  specs.forEach((g, i) => {
    const name = `svc${i}`;
    const ports = g.ports.map((p, j) => ({
      ...tcpPort(p.named || g.ports.length > 1 ? `p${j}` : "", p.port, g.type === "ClusterIP" ? undefined : p.nodePort),
      protocol: p.protocol,
    }));
    services.push(
      testService(`ns${i % 2}`, name, {
        type: g.type as ServiceState["type"],
        clusterIP: g.clusterIP,
        ports,
        externalIPs: g.externalIPs,
        loadBalancerIngress: g.type === "LoadBalancer" ? g.lbIPs : [],
        loadBalancerSourceRanges: g.sourceRanges,
        externalTrafficPolicy: g.etp as ServiceState["externalTrafficPolicy"],
        internalTrafficPolicy: g.itp as ServiceState["internalTrafficPolicy"],
        healthCheckNodePort: g.type === "LoadBalancer" && g.etp === "Local" ? 30100 + i : undefined,
        sessionAffinity: g.affinity ? "ClientIP" : "None",
        sessionAffinityTimeoutSeconds: 30,
      }),
    );
    slices.push(
      testSlice(
        `ns${i % 2}`,
        name,
        g.endpoints.map((e) => ({
          ip: e.ip,
          node: e.node,
          ready: e.state === "ready",
          serving: e.state === "ready" || e.state === "terminating-serving",
          terminating: e.state === "terminating" || e.state === "terminating-serving",
        })),
        g.ports.filter((p) => p.inSlice).map((p, j) => ({ name: ports[j].name, port: 8000 + p.port, protocol: p.protocol })),
      ),
    );
  });
  return testCluster(services, slices);
}

const optionsArb: fc.Arbitrary<Omit<IptablesOptions, "nodeName">> = fc.record({
  clusterCIDR: fc.constantFrom("10.0.0.0/8", "10.0.0.0/8", ""),
  masqueradeAll: fc.boolean(),
  localhostNodePorts: fc.boolean(),
  nfacct: fc.boolean(),
  conntrackTCPLiberal: fc.boolean(),
  largeClusterMode: fc.boolean(),
  randomFully: fc.boolean(),
});

const SOURCES = ["10.0.0.2", "10.180.0.1", "10.180.1.2", "192.168.0.2", "127.0.0.1", "203.0.113.2", "203.0.113.130", "1.2.3.4"];
const DESTINATIONS = [...CLUSTER_IPS, ...EXTERNAL_IPS, ...LB_IPS, "192.168.0.2", "127.0.0.1", "8.8.8.8", "10.180.0.1"];

const packetArb: fc.Arbitrary<Packet> = fc.record({
  // Endpoint IPs as sources exercise the hairpin masquerade rules.
  srcIP: fc.oneof(fc.constantFrom(...SOURCES), fc.constantFrom(...ENDPOINT_IPS)).map(parseIPv4),
  srcPort: fc.constant(40000),
  dstIP: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...CLUSTER_IPS) }, { weight: 3, arbitrary: fc.constantFrom(...DESTINATIONS) }).map(parseIPv4),
  dstPort: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...PORTS) }, { weight: 1, arbitrary: fc.constantFrom(...NODE_PORTS, 30100, 30101, 9999) }),
  protocol: fc.constantFrom(...PROTOCOLS),
  ingress: fc.constantFrom("local", "external"),
});

/**
 * A packet aimed at one of the cluster's Service addresses: resolved against the generated
 * Services (indexes taken modulo their lengths), so that most packets hit real rules.
 */
const aimedArb = fc.record({
  service: fc.nat(),
  port: fc.nat(),
  address: fc.constantFrom("cluster", "external", "lb", "nodeport", "loopback-nodeport", "health"),
  sameProtocol: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

type Aim = typeof aimedArb extends fc.Arbitrary<infer T> ? T : never;

function aim(state: ClusterState, base: Packet, a: Aim): Packet {
  const svc = state.services[a.service % state.services.length];
  const port = svc.ports[a.port % svc.ports.length];
  const packet = { ...base };
  if (a.sameProtocol) packet.protocol = port.protocol;
  packet.dstPort = port.port;
  switch (a.address) {
    case "cluster":
      packet.dstIP = parseIPv4(svc.clusterIP as string);
      break;
    case "external":
      if (svc.externalIPs.length > 0) packet.dstIP = parseIPv4(svc.externalIPs[a.port % svc.externalIPs.length]);
      break;
    case "lb":
      if (svc.loadBalancerIngress.length > 0) packet.dstIP = parseIPv4(svc.loadBalancerIngress[a.port % svc.loadBalancerIngress.length]);
      break;
    case "nodeport":
    case "loopback-nodeport":
      packet.dstIP = parseIPv4(a.address === "nodeport" ? "192.168.0.2" : "127.0.0.1");
      packet.dstPort = port.nodePort ?? 30001;
      break;
    case "health":
      packet.dstIP = parseIPv4("192.168.0.2");
      packet.dstPort = svc.healthCheckNodePort ?? 30100;
      break;
  }
  return packet;
}

const drawsArb = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 16 });

describe("iptables fast path vs interpreter", () => {
  it("agree on verdict, endpoint, masquerade, work and draws (affinity off)", () => {
    fc.assert(
      fc.property(
        fc.array(serviceArb(false), { minLength: 1, maxLength: 6 }),
        optionsArb,
        fc.array(fc.tuple(packetArb, fc.option(aimedArb, { freq: 3 }), drawsArb), { minLength: 1, maxLength: 20 }),
        (specs, options, packets) => {
          const state = buildCluster(specs);
          const plane = compileIptables(state, { ...options, nodeName: TEST_NODE_NAME });
          const rules = prepareRuleset(plane.render());
          for (const [base, aimed, draws] of packets) {
            const packet = aimed === null ? base : aim(state, base, aimed);
            const a = new ReplayRandom(draws);
            const b = new ReplayRandom(draws);
            const fast = plane.evaluate(packet, a);
            const slow = interpretIptables(rules, plane.nodeIP, packet, b);
            expect(fast).toEqual(slow);
            expect(a.draws).toBe(b.draws);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("agree with ClientIP affinity, each with its own copy of the recent table", () => {
    fc.assert(
      fc.property(
        fc.array(serviceArb(true), { minLength: 1, maxLength: 4 }),
        optionsArb,
        fc.array(fc.tuple(packetArb, fc.option(aimedArb, { freq: 3 }), drawsArb, fc.integer({ min: 0, max: 40 })), {
          minLength: 1,
          maxLength: 30,
        }),
        (specs, options, packets) => {
          const state = buildCluster(specs);
          const plane = compileIptables(state, { ...options, nodeName: TEST_NODE_NAME });
          const rules = prepareRuleset(plane.render());
          const tableA = new RecentTable(2);
          const tableB = new RecentTable(2);
          for (const [base, aimed, draws, dt] of packets) {
            const packet = aimed === null ? base : aim(state, base, aimed);
            tableA.now += dt;
            tableB.now += dt;
            const a = new ReplayRandom(draws);
            const b = new ReplayRandom(draws);
            const fast = plane.evaluateWith(packet, a, tableA);
            const slow = interpretIptables(rules, plane.nodeIP, packet, b, { affinity: tableB });
            expect(fast).toEqual(slow);
            expect(a.draws).toBe(b.draws);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("counts rules and chains as the rendering has them", () => {
    fc.assert(
      fc.property(fc.array(serviceArb(true), { minLength: 0, maxLength: 6 }), optionsArb, (specs, options) => {
        const plane = compileIptables(buildCluster(specs), { ...options, nodeName: TEST_NODE_NAME });
        const rendered = renderModel(plane.model);
        expect(countRules(plane.model)).toEqual(rendered.counts);
        // And the counts are what the text holds.
        const parsed = parseIptablesRestore(rendered.text);
        let rulesInText = 0;
        let chainsInText = 0;
        for (const t of parsed.tables.values()) {
          for (const c of t.chains.values()) {
            chainsInText++;
            rulesInText += c.rules.length;
          }
        }
        expect(plane.size()).toEqual({ rules: rulesInText, chains: chainsInText, mapElements: 0 });
      }),
      { numRuns: 200 },
    );
  });
});

describe("incremental update", () => {
  it("update(next, changed) renders and evaluates exactly as a fresh compile of next", () => {
    fc.assert(
      fc.property(
        fc.array(serviceArb(true), { minLength: 1, maxLength: 6 }),
        fc.array(fc.option(serviceArb(true), { freq: 2 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.tuple(packetArb, fc.option(aimedArb, { freq: 3 }), drawsArb), { minLength: 1, maxLength: 8 }),
        (before, edits, copyObjects, packets) => {
          const options = { nodeName: TEST_NODE_NAME, clusterCIDR: "10.0.0.0/8" };
          const a = buildCluster(before);
          // Service i of the next state: replaced by edits[i] when given, else unchanged (removed past `edits`).
          const afterSpecs = edits.map((e, i) => e ?? before[i]).filter((x) => x !== undefined);
          const built = buildCluster(afterSpecs);
          const changed = new Set<string>();
          const services = built.services.map((svc, i) => {
            const same = edits[i] === null && i < before.length;
            if (!same) changed.add(`${svc.namespace}/${svc.name}`);
            // Unchanged Services keep their objects (or equal copies, the other lookup path).
            return same ? (copyObjects ? { ...a.services[i] } : a.services[i]) : svc;
          });
          for (let i = afterSpecs.length; i < before.length; i++) changed.add(`${a.services[i].namespace}/${a.services[i].name}`);
          const b: ClusterState = { ...built, services };
          const first = compileIptables(a, options);
          first.evaluate(
            { srcIP: 1, srcPort: 1, dstIP: 2, dstPort: 3, protocol: "TCP", ingress: "external" },
            new ReplayRandom([0.5]),
          );
          const updated = first.update(b, changed);
          const fresh = compileIptables(b, options);
          expect(updated.render()).toBe(fresh.render());
          expect(updated.counts()).toEqual(fresh.counts());
          for (const [base, aimed, draws] of packets) {
            const packet = aimed === null ? base : aim(b, base, aimed);
            expect(updated.evaluate(packet, new ReplayRandom(draws))).toEqual(fresh.evaluate(packet, new ReplayRandom(draws)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("first-packet work in iptables mode", () => {
  it("grows linearly with the Service's position in KUBE-SERVICES", () => {
    const n = 50;
    const services = [];
    const slices = [];
    for (let i = 0; i < n; i++) {
      services.push(testService("ns", `s${i}`, { clusterIP: `172.30.${i >> 8}.${(i & 255) + 1}`, ports: [tcpPort("http", 80)] }));
      slices.push(testSlice("ns", `s${i}`, [{ ip: `10.1.${i}.1` }, { ip: `10.1.${i}.2` }], [{ name: "http", port: 8080 }]));
    }
    const plane = compileIptables(testCluster(services, slices), { nodeName: TEST_NODE_NAME, clusterCIDR: "10.0.0.0/8" });
    const rules = prepareRuleset(plane.render());
    const work = [];
    for (let i = 0; i < n; i++) {
      const packet: Packet = {
        srcIP: parseIPv4("10.0.0.2"),
        srcPort: 40000,
        dstIP: parseIPv4(`172.30.${i >> 8}.${(i & 255) + 1}`),
        dstPort: 80,
        protocol: "TCP",
        ingress: "external",
      };
      const fast = plane.evaluate(packet, new ReplayRandom([0.1]));
      expect(fast).toEqual(interpretIptables(rules, plane.nodeIP, packet, new ReplayRandom([0.1])));
      expect(fast.action).toBe("dnat");
      work.push(fast.work);
    }
    for (let i = 1; i < n; i++) {
      // One more rule skipped in KUBE-SERVICES, which fails on its first match (-d).
      expect(work[i].rulesTraversed - work[i - 1].rulesTraversed).toBe(1);
      expect(work[i].matchesTried - work[i - 1].matchesTried).toBe(1);
      expect(work[i].chainJumps).toBe(work[0].chainJumps);
    }
  });
});
