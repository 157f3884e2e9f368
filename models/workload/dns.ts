/**
 * A client pod's name lookups, in time: the resolver's search path under `ndots` turns one name
 * into several queries; each query is a new UDP flow to the kube-dns Service, so it pays the
 * client node's data plane like any other connection, the hop to a CoreDNS pod, CoreDNS' own
 * latency, and — for names outside the cluster that CoreDNS has not cached — the upstream
 * resolver's round trip. The pod's resolver (glibc) keeps no cache of its own.
 */
import type { Distribution } from "../../sim/distributions.js";
import { parseDistribution } from "../../sim/distributions.js";
import type { RandomStreams, Rng } from "../../sim/random.js";
import { NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";
import { ClusterDnsZone, lookupSequence } from "../discovery/dns.js";
import { parseIPv4 } from "../network/ip.js";
import type { NetworkModel } from "../network/latency.js";
import { firstPacketCostBreakdown } from "../proxy/cost.js";
import type { CostProfile } from "../proxy/cost.js";
import type { EndpointSliceState } from "../cluster/types.js";
import type { DynamicCluster } from "./controlPlane.js";
import type { WorkloadMetrics } from "./metrics.js";

export type DnsResult =
  | { kind: "address"; ip: number; delay: Nanos }
  /** A host outside the cluster (an ExternalName's target, an external name). */
  | { kind: "external"; delay: Nanos }
  | { kind: "nxdomain"; delay: Nanos }
  /** No CoreDNS endpoint answered. */
  | { kind: "error"; delay: Nanos };

export interface DnsClientOptions {
  cluster: DynamicCluster;
  network: NetworkModel;
  profile: CostProfile;
  streams: RandomStreams;
  metrics: WorkloadMetrics;
}

interface Querier {
  nodeIndex: number;
  ip: number;
  spec: { namespace: string; ndots: number; dnsCache: "none" | "ttl" | Nanos };
  /** The client's own cache (when its dnsCache is not "none"): name → answer and expiry. */
  readonly dnsCacheEntries: Map<string, { result: DnsResult; expires: Nanos }>;
}

export class DnsClient {
  readonly zone: ClusterDnsZone;
  private readonly cluster: DynamicCluster;
  private readonly network: NetworkModel;
  private readonly profile: CostProfile;
  private readonly metrics: WorkloadMetrics;
  private readonly queryLatency: Distribution;
  private readonly rng: Rng;
  private readonly cacheTTL: Nanos;
  /** TTL of the cluster zone's answers, NXDOMAIN included. */
  private readonly zoneTtl: Nanos;
  private readonly kubeDnsIP: number;
  /** CoreDNS' cache of forwarded (external) answers: name → expiry. */
  private readonly upstreamCache = new Map<string, Nanos>();
  private readonly now: () => Nanos;
  private sourcePort = 0;
  /**
   * The resolver's candidate names per (name, namespace, ndots), and the zone's answer per name
   * (cleared whenever a Service's slices change): both are pure, and asked for on every new
   * connection.
   */
  private readonly sequences = new Map<string, readonly string[]>();
  private readonly answers = new Map<string, ReturnType<ClusterDnsZone["answer"]>>();
  private readonly addresses = new Map<string, number>();

  constructor(o: DnsClientOptions, now: () => Nanos) {
    this.cluster = o.cluster;
    this.network = o.network;
    this.profile = o.profile;
    this.metrics = o.metrics;
    this.now = now;
    const spec = o.cluster.resolved.config.dns;
    this.queryLatency = parseDistribution(spec.queryLatency, "dns.queryLatency");
    this.cacheTTL = spec.cacheTTL;
    this.rng = o.streams.get("dns");
    this.zoneTtl = spec.ttl;
    this.zone = new ClusterDnsZone(o.cluster.resolved.state, { clusterDomain: spec.clusterDomain, ttlSeconds: spec.ttl / NS_PER_S });
    const ip = o.cluster.resolved.dns.clusterIP;
    this.kubeDnsIP = ip === null ? -1 : parseIPv4(ip);
  }

  /** A Service's slices changed: the zone answers from the new ones. */
  setServiceSlices(serviceKey: string, slices: readonly EndpointSliceState[]): void {
    this.zone.setServiceSlices(serviceKey, slices);
    this.answers.clear();
  }

  /** Resolves `name` for a client pod; the delay covers every query the resolver sends. */
  resolve(client: Querier, name: string, measured: boolean): DnsResult {
    const policy = client.spec.dnsCache;
    if (policy === "none") return this.lookup(client, name, measured).result;
    const now = this.now();
    const cached = client.dnsCacheEntries.get(name);
    if (cached && cached.expires > now) {
      if (measured) this.metrics.dnsLookups++;
      return { ...cached.result, delay: 0 };
    }
    const { result, ttl } = this.lookup(client, name, measured);
    if (result.kind !== "error") client.dnsCacheEntries.set(name, { result, expires: now + (policy === "ttl" ? ttl : policy) });
    return result;
  }

  /** The resolver's queries for one lookup; `ttl` is the answer's (ns). */
  private lookup(client: Querier, name: string, measured: boolean): { result: DnsResult; ttl: Nanos } {
    const seqKey = `${name}|${client.spec.namespace}|${client.spec.ndots}`;
    let candidates = this.sequences.get(seqKey);
    if (candidates === undefined) {
      candidates = lookupSequence(name, client.spec.namespace, client.spec.ndots, { clusterDomain: this.zone.clusterDomain });
      this.sequences.set(seqKey, candidates);
    }
    let delay = 0;
    if (measured) this.metrics.dnsLookups++;
    for (const fqdn of candidates) {
      const q = this.query(client, fqdn);
      if (measured) this.metrics.dnsQueries++;
      delay += q.delay;
      const a = q.answer;
      const ttl = a.ttlSeconds * NS_PER_S;
      if (q.failed) return { result: { kind: "error", delay }, ttl };
      if (a.rcode === "NXDOMAIN") continue;
      if (a.source === "external" || a.cnames.length > 0) return { result: { kind: "external", delay }, ttl };
      // CoreDNS' loadbalance plugin shuffles the A records; the client takes the first.
      const pick = a.addresses[Math.floor(this.rng.next() * a.addresses.length)];
      let ip = this.addresses.get(pick);
      if (ip === undefined) this.addresses.set(pick, (ip = parseIPv4(pick)));
      return { result: { kind: "address", ip, delay }, ttl };
    }
    return { result: { kind: "nxdomain", delay }, ttl: this.zoneTtl };
  }

  private query(client: Querier, fqdn: string): { delay: Nanos; failed: boolean; answer: ReturnType<ClusterDnsZone["answer"]> } {
    let answer = this.answers.get(fqdn);
    if (answer === undefined) this.answers.set(fqdn, (answer = this.zone.answer(fqdn)));
    const node = this.cluster.nodes[client.nodeIndex];
    let delay = this.queryLatency.sample(this.rng);
    if (node && this.kubeDnsIP >= 0) {
      const plane = node.sync.current();
      plane.setTime?.(this.now());
      this.sourcePort = (this.sourcePort + 1) % 28_232;
      const v = plane.evaluate(
        { srcIP: client.ip, srcPort: 32_768 + this.sourcePort, dstIP: this.kubeDnsIP, dstPort: 53, protocol: "UDP", ingress: "local" },
        this.rng,
      );
      if (v.action !== "dnat") return { delay: delay + this.network.betweenNodes(node.index, node.index), failed: true, answer };
      const cost = firstPacketCostBreakdown(this.profile, plane.mode, v.work, plane.size());
      const coredns = this.cluster.podByIP.get(v.endpointIP ?? -1);
      const hop = coredns && coredns.nodeIndex >= 0 ? this.network.betweenNodes(node.index, coredns.nodeIndex) : 0;
      delay += cost.total - cost.roundTrip + 2 * hop;
    }
    if (answer.source === "external") {
      const now = this.now();
      const expiry = this.upstreamCache.get(fqdn);
      if (expiry === undefined || expiry <= now) {
        // Forwarded upstream (CoreDNS `forward . /etc/resolv.conf`), then cached — NXDOMAIN too.
        delay += 2 * this.network.internetToLB();
        this.upstreamCache.set(fqdn, now + Math.min(this.cacheTTL, answer.ttlSeconds * NS_PER_S));
      }
    }
    return { delay, failed: false, answer };
  }
}
