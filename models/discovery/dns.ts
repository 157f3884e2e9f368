/**
 * Cluster DNS, without time: what CoreDNS (kubernetes plugin, per the Kubernetes DNS spec)
 * answers for a name, and which names a pod's resolver asks, in order.
 *
 * The pod resolver (ClusterFirst): `search <ns>.svc.<domain> svc.<domain> <domain>`,
 * `options ndots:5`. As glibc's res_search does it:
 * - a name with a trailing dot is absolute: asked once, as is;
 * - a name with at least `ndots` dots is asked as is first, then with each search domain;
 * - otherwise each search domain is tried first, and the name as is last;
 * - the first answer with records ends the lookup; NXDOMAIN moves on to the next candidate.
 * Each candidate costs one query (a resolver that asks A and AAAA in parallel sends two packets
 * per candidate; svcsim counts candidates).
 *
 * The zone (CoreDNS): `<svc>.<ns>.svc.<domain>` is an A record with the cluster IP; for a
 * headless Service, one A record per ready endpoint (none: NXDOMAIN, as CoreDNS answers); for an
 * ExternalName Service, a CNAME to its external name, which CoreDNS chases (inside the cluster
 * domain itself, outside it through the external resolver) and returns in the same answer;
 * `<a-b-c-d>.<ns>.pod.<domain>` answers a.b.c.d (`pods insecure`); `<a-b-c-d>.<svc>.<ns>.svc.<domain>`
 * answers an endpoint's address; anything else in the cluster domain is NXDOMAIN. Names outside
 * the cluster domain go to the external resolver.
 */
import type { ClusterState, EndpointSliceState, ServiceState } from "../cluster/types.js";
import { fnv1a32 } from "../cluster/names.js";
import { formatIPv4, parseCidr } from "../network/ip.js";

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
export const DEFAULT_NDOTS = 5;
/** CoreDNS kubernetes plugin's default TTL. */
export const DEFAULT_TTL_SECONDS = 5;
/** The documentation range where the default external resolver puts external names. */
export const EXTERNAL_NAME_RANGE = "198.51.100.0/24";

export type Rcode = "NOERROR" | "NXDOMAIN";

export interface DnsAnswer {
  /** The name asked, fully qualified, lowercase, with a trailing dot. */
  question: string;
  rcode: Rcode;
  /** CNAME chain followed, in order (targets, fully qualified). */
  cnames: string[];
  /** A records at the end of the chain. */
  addresses: string[];
  ttlSeconds: number;
  /** Who answered the final records. */
  source: "cluster" | "external";
}

export type ExternalResolver = (fqdn: string) => string[] | null;

export interface ClusterDnsOptions {
  clusterDomain?: string;
  ttlSeconds?: number;
  externalTtlSeconds?: number;
  /** Answers names outside the cluster domain; null = NXDOMAIN. */
  externalResolver?: ExternalResolver;
}

/** Lowercase, with exactly one trailing dot. */
export function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(".") ? n : `${n}.`;
}

/**
 * Top-level domains the default outside world knows: the generic ones and the most common
 * country codes. A name under any other top label (`web.default.`, `db.svc.`) does not exist,
 * as on the real internet, so the resolver goes on down its search list.
 */
export const KNOWN_TLDS: ReadonlySet<string> = new Set(
  ("com net org io dev app cloud ai co info biz edu gov mil int me tech online site xyz " +
    "us uk de fr nl se no fi dk es it pl ch at be ie pt cz ru ua jp cn kr in au nz ca br mx ar za sg hk tw").split(" "),
);

/**
 * The default outside world: a name of two labels or more under a known top-level domain
 * exists, at an address derived from its name in 198.51.100.0/24; anything else is NXDOMAIN.
 */
export function defaultExternalResolver(name: string): string[] | null {
  const n = fqdn(name).slice(0, -1);
  if (!n.includes(".")) return null;
  if (!KNOWN_TLDS.has(n.slice(n.lastIndexOf(".") + 1))) return null;
  const range = parseCidr(EXTERNAL_NAME_RANGE);
  return [formatIPv4(range.base + 1 + (fnv1a32(n) % (range.size - 2)))];
}

/** The search list of a ClusterFirst pod in `namespace`. */
export function searchPath(namespace: string, clusterDomain = DEFAULT_CLUSTER_DOMAIN, extraSearches: readonly string[] = []): string[] {
  const d = clusterDomain.replace(/\.$/, "");
  return [`${namespace}.svc.${d}`, `svc.${d}`, d, ...extraSearches.map((s) => s.replace(/\.$/, ""))];
}

export interface LookupOptions {
  clusterDomain?: string;
  /** Search domains after the cluster's (the node's own, or dnsConfig.searches). */
  extraSearches?: readonly string[];
}

/** The fully qualified names a resolver asks for `name`, in order, if every one is NXDOMAIN. */
export function lookupSequence(name: string, namespace: string, ndots = DEFAULT_NDOTS, options: LookupOptions = {}): string[] {
  const n = name.toLowerCase();
  if (n.endsWith(".")) return [n];
  const dots = (n.match(/\./g) ?? []).length;
  const searched = searchPath(namespace, options.clusterDomain, options.extraSearches).map((d) => `${n}.${d}.`);
  const asIs = `${n}.`;
  return dots >= ndots ? [asIs, ...searched] : [...searched, asIs];
}

export class ClusterDnsZone {
  readonly clusterDomain: string;
  private readonly suffix: string;
  private readonly ttl: number;
  private readonly externalTtl: number;
  private readonly external: ExternalResolver;
  private readonly services = new Map<string, ServiceState>();
  private readonly slices = new Map<string, EndpointSliceState[]>();

  constructor(state: ClusterState, options: ClusterDnsOptions = {}) {
    this.clusterDomain = (options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).toLowerCase().replace(/\.$/, "");
    this.suffix = `.${this.clusterDomain}.`;
    this.ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.externalTtl = options.externalTtlSeconds ?? 30;
    this.external = options.externalResolver ?? defaultExternalResolver;
    for (const s of state.services) this.services.set(`${s.namespace}/${s.name}`, s);
    for (const sl of state.endpointSlices) {
      const k = `${sl.namespace}/${sl.serviceName}`;
      const list = this.slices.get(k);
      if (list) list.push(sl);
      else this.slices.set(k, [sl]);
    }
  }

  /** Replaces a Service's EndpointSlices ("namespace/name"), as CoreDNS' watch delivers them. */
  setServiceSlices(serviceKey: string, slices: readonly EndpointSliceState[]): void {
    this.slices.set(serviceKey, [...slices]);
  }

  /** Whether `name` lies in the cluster's zone. */
  inClusterDomain(name: string): boolean {
    return fqdn(name).endsWith(this.suffix);
  }

  private readyAddresses(namespace: string, service: string): string[] {
    const out: string[] = [];
    for (const sl of this.slices.get(`${namespace}/${service}`) ?? []) {
      for (const ep of sl.endpoints) {
        if (ep.conditions.ready && !out.includes(ep.address)) out.push(ep.address);
      }
    }
    return out;
  }

  /** A pod's whole lookup of `name` (see the module function `resolve`). */
  resolve(name: string, namespace: string, ndots = DEFAULT_NDOTS, options: LookupOptions = {}): Resolution {
    return resolve(this, name, namespace, ndots, options);
  }

  /** Answers one query, chasing CNAMEs (at most 8) as CoreDNS does for ExternalName. */
  answer(name: string): DnsAnswer {
    const question = fqdn(name);
    const cnames: string[] = [];
    let current = question;
    for (let hop = 0; hop <= 8; hop++) {
      const r = this.lookupOne(current);
      if (r.kind === "cname") {
        cnames.push(r.target);
        current = r.target;
        continue;
      }
      if (r.kind === "nx") return { question, rcode: "NXDOMAIN", cnames, addresses: [], ttlSeconds: this.ttl, source: r.source };
      return { question, rcode: "NOERROR", cnames, addresses: r.addresses, ttlSeconds: r.source === "cluster" ? this.ttl : this.externalTtl, source: r.source };
    }
    return { question, rcode: "NXDOMAIN", cnames, addresses: [], ttlSeconds: this.ttl, source: "cluster" };
  }

  private lookupOne(
    name: string,
  ): { kind: "a"; addresses: string[]; source: "cluster" | "external" } | { kind: "cname"; target: string } | { kind: "nx"; source: "cluster" | "external" } {
    if (!name.endsWith(this.suffix)) {
      const addrs = this.external(name);
      return addrs && addrs.length > 0 ? { kind: "a", addresses: addrs, source: "external" } : { kind: "nx", source: "external" };
    }
    const labels = name.slice(0, -this.suffix.length).split(".");
    const nx = { kind: "nx" as const, source: "cluster" as const };
    const dashed = (l: string) => (/^\d{1,3}(-\d{1,3}){3}$/.test(l) ? l.replace(/-/g, ".") : null);
    // <a-b-c-d>.<ns>.pod
    if (labels.length === 3 && labels[2] === "pod") {
      const ip = dashed(labels[0]);
      return ip ? { kind: "a", addresses: [ip], source: "cluster" } : nx;
    }
    if (labels[labels.length - 1] !== "svc") return nx;
    if (labels.length === 3) {
      const [svcName, ns] = labels;
      const svc = this.services.get(`${ns}/${svcName}`);
      if (!svc) return nx;
      if (svc.type === "ExternalName") return svc.externalName ? { kind: "cname", target: fqdn(svc.externalName) } : nx;
      if (svc.headless || svc.clusterIP === null) {
        const addrs = this.readyAddresses(ns, svcName);
        return addrs.length > 0 ? { kind: "a", addresses: addrs, source: "cluster" } : nx;
      }
      return { kind: "a", addresses: [svc.clusterIP], source: "cluster" };
    }
    if (labels.length === 4) {
      // <endpoint>.<svc>.<ns>.svc: an endpoint by its dashed address.
      const [ep, svcName, ns] = labels;
      const ip = dashed(ep);
      if (ip && this.services.has(`${ns}/${svcName}`) && this.readyAddresses(ns, svcName).includes(ip)) {
        return { kind: "a", addresses: [ip], source: "cluster" };
      }
    }
    return nx;
  }
}

export interface Resolution {
  /** Queries sent (one per candidate name tried). */
  queries: number;
  /** The last answer: the first NOERROR with records, or the last NXDOMAIN. */
  answer: DnsAnswer;
  /** The candidates asked, in order. */
  fqdnsTried: string[];
}

/** A pod's lookup of `name` through the cluster DNS, as its resolver would do it. */
export function resolve(zone: ClusterDnsZone, name: string, namespace: string, ndots = DEFAULT_NDOTS, options: LookupOptions = {}): Resolution {
  const candidates = lookupSequence(name, namespace, ndots, { clusterDomain: zone.clusterDomain, ...options });
  const tried: string[] = [];
  let last: DnsAnswer | undefined;
  for (const c of candidates) {
    tried.push(c);
    last = zone.answer(c);
    if (last.rcode === "NOERROR" && last.addresses.length > 0) break;
  }
  return { queries: tried.length, answer: last as DnsAnswer, fqdnsTried: tried };
}
