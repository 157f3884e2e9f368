/**
 * Calibration of the default cost profile against the published first-packet figures.
 *
 * For each mode: syntheticCluster()s of 5k, 10k and 30k ClusterIP Services (one TCP port each,
 * 4 ready endpoints each, spread over 10 nodes), compiled once for node-1; 20,000 first packets from a
 * pod on node-1 to a Service drawn uniformly at random (kube-proxy writes KUBE-SERVICES in no
 * particular order, and the blog's figures are percentiles over connections to many Services:
 * the spread between best and worst case "mostly determined by whether a given Service IP
 * address appears earlier or later in the KUBE-SERVICES chain"); each packet's Work turned into
 * time with the default profile, jittered with a seeded stream. The blog's tests had few
 * endpoints per Service; 4 is what the measured restore times used, so both calibrations see the
 * same rule set.
 *
 * Asserted: p50 and mean within 25 % of the published p50 at each size; iptables' p50 at 30k at
 * least 3× its p50 at 5k; nftables' p50 within 1.3× across sizes. The table printed puts our
 * p01/p50/p90/p99/mean beside the published ones.
 */
import { describe, expect, it } from "vitest";
import type { ClusterState } from "../cluster/types.js";
import { createStream } from "../../sim/random.js";
import { loadCostProfile, sampleFirstPacketCost } from "./cost.js";
import { proxyModes } from "./modes.js";
import { syntheticCluster } from "./synthetic.js";
import type { Packet, ProxyMode, ProxyModeName } from "./types.js";

const SIZES = [5000, 10000, 30000] as const;
const ENDPOINTS_PER_SERVICE = 4;
const NODES = 10;
const PACKETS = 20_000;
const TOLERANCE = 0.25;

/**
 * Published first-packet RTTs (µs), from ../shared/reference/published.csv
 * (k8s-blog-2025-02-28-nftables-kube-proxy, read off the post's charts). nftables has no 10k
 * row: the post says "flat across 5k/10k/30k", so 10k takes the 5k/30k value.
 */
const PUBLISHED: Record<ProxyModeName, Record<number, { p01?: number; p50: number; p90?: number; p99?: number }>> = {
  iptables: {
    5000: { p01: 16, p50: 49, p90: 122, p99: 154 },
    10000: { p01: 13, p50: 63, p90: 191, p99: 260 },
    30000: { p01: 42, p50: 274, p90: 496, p99: 718 },
  },
  nftables: {
    5000: { p01: 8, p50: 14, p90: 21, p99: 38 },
    10000: { p50: 14 },
    30000: { p50: 14, p99: 39 },
  },
  ipvs: {
    5000: { p01: 12.6, p50: 22.6, p90: 30.6, p99: 48.4 },
    10000: { p50: 23.5, p99: 49.3 },
    30000: { p01: 14.6, p50: 27.7, p90: 37.1, p99: 56.7 },
  },
};

const buildCluster = (services: number): ClusterState =>
  syntheticCluster({ services, endpointsPerService: ENDPOINTS_PER_SERVICE, nodes: NODES });

// --- measuring ------------------------------------------------------------------------------

interface Row {
  mode: ProxyModeName;
  services: number;
  p01: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

const profile = loadCostProfile();

function parseIPv4(text: string): number {
  const p = text.split(".").map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function measure(mode: ProxyMode, services: number): Row {
  const state = buildCluster(services);
  const node = state.nodes[0];
  const plane = mode.compile(state, { nodeName: node.name, clusterCIDR: state.clusterCIDR });
  const size = plane.size();
  const targets = state.services.filter((s) => s.clusterIP !== null && s.ports.length > 0);
  // The client: a pod on node-1 (an address in its pod CIDR).
  const src = (parseIPv4(node.podCIDR.split("/")[0]) + 77) >>> 0;
  const pick = createStream(2025, 0, `calibration/${mode.name}/${services}/targets`);
  const draws = createStream(2025, 0, `calibration/${mode.name}/${services}/kernel`);
  const noise = createStream(2025, 0, `calibration/${mode.name}/${services}/jitter`);
  const times = new Float64Array(PACKETS);
  let sum = 0;
  for (let i = 0; i < PACKETS; i++) {
    const svc = targets[Math.floor(pick.next() * targets.length)];
    const port = svc.ports[0];
    const packet: Packet = {
      srcIP: src,
      srcPort: 32768 + (i % 28000),
      dstIP: parseIPv4(svc.clusterIP as string),
      dstPort: port.port,
      protocol: port.protocol,
      ingress: "local",
    };
    const verdict = plane.evaluate(packet, draws);
    expect(verdict.action).toBe("dnat");
    const us = sampleFirstPacketCost(profile, mode.name, verdict.work, size, noise) / 1000;
    times[i] = us;
    sum += us;
  }
  times.sort();
  const q = (p: number): number => times[Math.min(PACKETS - 1, Math.floor(p * PACKETS))];
  return { mode: mode.name, services, p01: q(0.01), p50: q(0.5), p90: q(0.9), p99: q(0.99), mean: sum / PACKETS };
}

function printTable(rows: Row[]): void {
  const f = (x: number | undefined): string => (x === undefined ? "     -" : x.toFixed(1).padStart(6));
  const lines = [
    `First-packet RTT (µs), default profile vs the Kubernetes blog (2025-02-28); syntheticCluster, ${ENDPOINTS_PER_SERVICE} endpoints/Service, ${NODES} nodes, ${PACKETS} packets per row`,
    "mode      services |   ours: p01    p50    p90    p99   mean | published: p01    p50    p90    p99 | p50 err  mean err",
  ];
  for (const r of rows) {
    const pub = PUBLISHED[r.mode][r.services];
    lines.push(
      `${r.mode.padEnd(9)} ${String(r.services).padStart(8)} |     ${f(r.p01)} ${f(r.p50)} ${f(r.p90)} ${f(r.p99)} ${f(r.mean)} |          ${f(pub.p01)} ${f(pub.p50)} ${f(pub.p90)} ${f(pub.p99)} | ${(
        (100 * (r.p50 - pub.p50)) /
        pub.p50
      )
        .toFixed(0)
        .padStart(5)} %  ${((100 * (r.mean - pub.p50)) / pub.p50).toFixed(0).padStart(5)} %`,
    );
  }
  console.log(lines.join("\n"));
}

const MODES: ProxyModeName[] = ["iptables", "nftables", "ipvs"];
const rows: Row[] = [];

describe("calibration of the default cost profile on the published first-packet RTTs", () => {
  for (const name of MODES) {
    const mode = proxyModes[name];
    describe(name, () => {
      const byServices = new Map<number, Row>();
      for (const services of SIZES) {
        it(`p50 and mean at ${services} Services within ${TOLERANCE * 100} % of the published p50`, () => {
          const row = measure(mode, services);
          byServices.set(services, row);
          rows.push(row);
          const pub = PUBLISHED[name][services].p50;
          expect(Math.abs(row.p50 / pub - 1)).toBeLessThanOrEqual(TOLERANCE);
          expect(Math.abs(row.mean / pub - 1)).toBeLessThanOrEqual(TOLERANCE);
        });
      }
      it("has the published shape", () => {
        const p50s = SIZES.map((n) => byServices.get(n)?.p50 ?? NaN);
        const spread = Math.max(...p50s) / Math.min(...p50s);
        // iptables: linear in the Services before the packet's, bent up by cache misses.
        if (name === "iptables") expect(p50s[2]).toBeGreaterThanOrEqual(3 * p50s[0]);
        // nftables and IPVS: one hash lookup finds the Service, whatever their number.
        else expect(spread).toBeLessThanOrEqual(1.3);
      });
    });
  }

  it("prints the table", () => {
    rows.sort((a, b) => MODES.indexOf(a.mode) - MODES.indexOf(b.mode) || a.services - b.services);
    printTable(rows);
    expect(rows.length).toBeGreaterThan(0);
  });
});
