/**
 * Step one of the iptables mode: the cluster state, as one node sees it, reduced to one compact
 * record per Service port with every decision kube-proxy's syncProxyRules makes for it
 * (pkg/proxy/iptables/proxier.go): which endpoints serve Cluster and Local traffic
 * (proxy.CategorizeEndpoints, without topology hints), which chains exist, which filter rules
 * reject or drop. The renderer and the fast path both read these records, so neither re-derives
 * policy; the renderer never allocates per-rule objects.
 */
import type { ClusterState, Protocol, ServiceState } from "../../cluster/types.js";
import { cidrContains, tryParseCidr } from "../../network/ip.js";
import type { Cidr } from "../../network/ip.js";
import { endpointHash, portProtoHash } from "../hash.js";
import { servicePortsForNode } from "../servicePorts.js";
import type { ProxyEndpoint, ServicePortInfo } from "../servicePorts.js";
import { LARGE_CLUSTER_ENDPOINTS_THRESHOLD, resolveOptions } from "./options.js";
import type { IptablesOptions, ResolvedIptablesOptions } from "./options.js";

export type ProtoName = "tcp" | "udp" | "sctp";

/** Small integer codes for protocols, used in the typed arrays of the fast path. */
export const PROTO_CODE: Record<Protocol, number> = { TCP: 1, UDP: 2, SCTP: 3 };
export const PROTO_NAME: Record<Protocol, ProtoName> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

export interface EndpointPlan {
  /** "ip:port", kube-proxy's endpoint String(). */
  key: string;
  ipText: string;
  ip: number;
  port: number;
  /** KUBE-SEP-... */
  sepChain: string;
}

/** Which chain the cluster-IP masquerade rule is appended to. */
export const MASQ_NONE = 0;
export const MASQ_IN_SVC = 1;
export const MASQ_IN_SVL = 2;

export interface ServicePortPlan {
  /** kube-proxy's ServicePortName string: "ns/name:port" or "ns/name". */
  name: string;
  /** "ns/name", to select the Service's chains in a partial sync. */
  serviceKey: string;
  proto: ProtoName;
  protoCode: number;
  clusterIP: number;
  clusterIPText: string;
  port: number;
  /** 0 when the port has none. */
  nodePort: number;
  /** 0 unless LoadBalancer with externalTrafficPolicy Local. */
  healthCheckNodePort: number;
  externalIPs: number[];
  externalIPTexts: string[];
  lbIPs: number[];
  lbIPTexts: string[];
  sourceRanges: Cidr[];
  /** A source range contains the node's IP: LB IPs are allowed as sources too. */
  allowFromNode: boolean;
  /** ClientIP affinity timeout in seconds, 0 without affinity. */
  affinitySeconds: number;
  internalPolicyLocal: boolean;
  externalPolicyLocal: boolean;
  hasEndpoints: boolean;
  hasInternalEndpoints: boolean;
  hasExternalEndpoints: boolean;
  usesClusterChain: boolean;
  usesLocalChain: boolean;
  usesExternalChain: boolean;
  usesFirewallChain: boolean;
  /** MASQ_NONE, MASQ_IN_SVC or MASQ_IN_SVL. */
  masqChain: number;
  svcChain: string;
  svlChain: string;
  extChain: string;
  fwChain: string;
  clusterEndpoints: EndpointPlan[];
  localEndpoints: EndpointPlan[];
  /** Endpoints that get a KUBE-SEP chain, sorted by key. */
  reachableEndpoints: EndpointPlan[];
  /** All endpoints of the port in its slices, usable or not (for large-cluster mode). */
  endpointCount: number;
}

export interface IptablesModel {
  options: ResolvedIptablesOptions;
  nodeIP: number;
  nodeIPText: string;
  /** --cluster-cidr, or null when empty (kube-proxy then has no local-traffic detector). */
  clusterCIDR: Cidr | null;
  largeClusterMode: boolean;
  totalEndpoints: number;
  /** In KUBE-SERVICES order: Services in state order, ports in declaration order. */
  servicePorts: ServicePortPlan[];
}

function usableEndpoints(eps: ProxyEndpoint[]): ProxyEndpoint[] {
  const ready = eps.filter((e) => e.conditions.ready);
  if (ready.length > 0) return ready;
  return eps.filter((e) => e.conditions.serving && e.conditions.terminating);
}

/** Union of two key-sorted lists, sorted by key, without duplicates. */
function mergeSorted(a: ProxyEndpoint[], b: ProxyEndpoint[]): ProxyEndpoint[] {
  const out: ProxyEndpoint[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].key < b[j].key)) out.push(a[i++]);
    else if (i >= a.length || b[j].key < a[i].key) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out;
}

/** Each model's plans by Service object, kept for the next update (models are immutable). */
const plansByService = new WeakMap<IptablesModel, Map<ServiceState, ServicePortPlan[]>>();

/**
 * Compiles the cluster state for one node. Throws when the node is unknown or clusterCIDR is
 * not a CIDR (an empty clusterCIDR means "no local-traffic detector", as in kube-proxy).
 */
export function buildModel(state: ClusterState, options: IptablesOptions): IptablesModel {
  const opts = resolveOptions(options);
  const node = state.nodes.find((n) => n.name === opts.nodeName);
  if (!node) throw new Error(`iptables: node ${JSON.stringify(opts.nodeName)} is not in the cluster state`);
  const nodeIP = fastIPv4(node.ip);
  if (nodeIP === null) throw new Error(`iptables: node ${node.name} has no IPv4 address (${JSON.stringify(node.ip)})`);
  let clusterCIDR: Cidr | null = null;
  if (opts.clusterCIDR !== "") {
    clusterCIDR = tryParseCidr(opts.clusterCIDR);
    if (clusterCIDR === null) throw new Error(`iptables: clusterCIDR ${JSON.stringify(opts.clusterCIDR)} is not an IPv4 CIDR`);
  }

  const byService = new Map<ServiceState, ServicePortPlan[]>();
  const servicePorts = planServicePorts(servicePortsForNode(state, opts.nodeName), nodeIP, clusterCIDR, opts, byService);
  for (const svc of state.services) if (!byService.has(svc)) byService.set(svc, NONE);
  const model = finishModel(opts, nodeIP, clusterCIDR, servicePorts);
  plansByService.set(model, byService);
  return model;
}

function finishModel(
  opts: ResolvedIptablesOptions,
  nodeIP: number,
  clusterCIDR: Cidr | null,
  servicePorts: ServicePortPlan[],
): IptablesModel {
  let totalEndpoints = 0;
  for (const sp of servicePorts) totalEndpoints += sp.endpointCount;
  const largeClusterMode =
    opts.largeClusterMode === "auto" ? totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD : opts.largeClusterMode;
  return {
    options: opts,
    nodeIP,
    nodeIPText: canonicalIPv4(nodeIP),
    clusterCIDR,
    largeClusterMode,
    totalEndpoints,
    servicePorts,
  };
}

/**
 * Recompiles only the Services named in `changed` ("ns/name"; added, updated or deleted) and
 * reuses `previous`'s records for the others, keeping the state's Service order. The node,
 * options and clusterCIDR are those of `previous`. A Service is recognized as unchanged by its
 * object identity first, by its name otherwise; no per-Service strings are built on the way.
 */
export function updateModel(previous: IptablesModel, state: ClusterState, changed: ReadonlySet<string>): IptablesModel {
  const opts = previous.options;
  const changedByNamespace = new Map<string, Set<string>>();
  for (const key of changed) {
    const slash = key.indexOf("/");
    const ns = key.slice(0, slash);
    let names = changedByNamespace.get(ns);
    if (!names) {
      names = new Set();
      changedByNamespace.set(ns, names);
    }
    names.add(key.slice(slash + 1));
  }
  const isChanged = (namespace: string, name: string): boolean => changedByNamespace.get(namespace)?.has(name) === true;

  let byObject = plansByService.get(previous);
  let byName: Map<string, Map<string, ServicePortPlan[]>> | null = null;
  const previousPlans = (svc: ServiceState): ServicePortPlan[] | undefined => {
    const hit = byObject?.get(svc);
    if (hit !== undefined) return hit;
    if (byName === null) {
      byName = new Map();
      for (const sp of previous.servicePorts) {
        const slash = sp.serviceKey.indexOf("/");
        const ns = sp.serviceKey.slice(0, slash);
        let names = byName.get(ns);
        if (!names) {
          names = new Map();
          byName.set(ns, names);
        }
        const name = sp.serviceKey.slice(slash + 1);
        const list = names.get(name);
        if (list) list.push(sp);
        else names.set(name, [sp]);
      }
    }
    return byName.get(svc.namespace)?.get(svc.name);
  };
  if (byObject === undefined) byObject = new Map();

  // Which Services to compile afresh: the changed ones and any the previous model lacks.
  const recompile: ServiceState[] = [];
  const reused: (ServicePortPlan[] | undefined)[] = [];
  const fresh = new Map<string, Set<string>>();
  for (const svc of state.services) {
    let plans: ServicePortPlan[] | undefined;
    if (!isChanged(svc.namespace, svc.name)) plans = previousPlans(svc);
    if (plans === undefined) {
      recompile.push(svc);
      const names = fresh.get(svc.namespace);
      if (names) names.add(svc.name);
      else fresh.set(svc.namespace, new Set([svc.name]));
    }
    reused.push(plans);
  }
  const partial: ClusterState = {
    ...state,
    services: recompile,
    endpointSlices:
      recompile.length === 0 ? [] : state.endpointSlices.filter((s) => fresh.get(s.namespace)?.has(s.serviceName) === true),
  };
  const compiled = new Map<string, ServicePortPlan[]>();
  for (const sp of planServicePorts(servicePortsForNode(partial, opts.nodeName), previous.nodeIP, previous.clusterCIDR, opts)) {
    const list = compiled.get(sp.serviceKey);
    if (list) list.push(sp);
    else compiled.set(sp.serviceKey, [sp]);
  }
  const servicePorts: ServicePortPlan[] = [];
  const nextByObject = new Map<ServiceState, ServicePortPlan[]>();
  state.services.forEach((svc, i) => {
    const plans = reused[i] ?? compiled.get(svc.namespace + "/" + svc.name) ?? NONE;
    nextByObject.set(svc, plans);
    for (const p of plans) servicePorts.push(p);
  });
  const model = finishModel(opts, previous.nodeIP, previous.clusterCIDR, servicePorts);
  plansByService.set(model, nextByObject);
  return model;
}

const NONE: never[] = [];

/** Dotted-quad IPv4 to an unsigned number, or null (no regular expression: called per endpoint). */
export function fastIPv4(text: string): number | null {
  const n = text.length;
  if (n < 7 || n > 15) return null;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 3) return null;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + octet;
}

/** Names go into the rules as bytes; Kubernetes names are DNS labels, so this never fails on real input. */
function checkPrintableAscii(name: string): void {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 34) throw new RangeError(`iptables: Service port name ${JSON.stringify(name)} is not a Kubernetes name`);
  }
}

function parseAddresses(texts: string[]): { ips: number[]; texts: string[] } {
  if (texts.length === 0) return { ips: NONE, texts: NONE };
  const ips: number[] = [];
  const out: string[] = [];
  for (const text of texts) {
    const ip = fastIPv4(text.trim());
    if (ip === null) continue; // IPv6 (the other family's proxier) or invalid.
    ips.push(ip);
    out.push(canonicalIPv4(ip));
  }
  return { ips, texts: out };
}

function planServicePorts(
  sps: ServicePortInfo[],
  nodeIP: number,
  clusterCIDR: Cidr | null,
  opts: ResolvedIptablesOptions,
  byService?: Map<ServiceState, ServicePortPlan[]>,
): ServicePortPlan[] {
  const servicePorts: ServicePortPlan[] = [];
  const masqDetector = opts.masqueradeAll || clusterCIDR !== null;
  for (const sp of sps) {
    const svc = sp.service;
    const clusterIP = svc.clusterIP === null ? null : fastIPv4(svc.clusterIP);
    if (clusterIP === null) continue; // IPv6 or unset: not this (IPv4) proxier's business.
    const name = sp.name;
    checkPrintableAscii(name);
    const proto = PROTO_NAME[sp.port.protocol];
    const hash = portProtoHash(name, proto);

    const external = parseAddresses(svc.externalIPs);
    const lb = parseAddresses(svc.loadBalancerIngress);
    let sourceRanges: Cidr[] = NONE;
    let allowFromNode = false;
    if (svc.loadBalancerSourceRanges.length > 0) {
      sourceRanges = [];
      for (const text of svc.loadBalancerSourceRanges) {
        const cidr = tryParseCidr(text.trim());
        if (cidr === null) continue;
        sourceRanges.push(cidr);
        if (cidrContains(cidr, nodeIP)) allowFromNode = true;
      }
    }

    const nodePort = sp.port.nodePort ?? 0;
    const externallyAccessible = nodePort !== 0 || lb.ips.length > 0 || external.ips.length > 0;
    const internalPolicyLocal = svc.internalTrafficPolicy === "Local";
    const externalPolicyLocal =
      (svc.type === "LoadBalancer" || svc.type === "NodePort") && svc.externalTrafficPolicy === "Local";
    const healthCheckNodePort =
      svc.type === "LoadBalancer" && svc.externalTrafficPolicy === "Local" ? (svc.healthCheckNodePort ?? 0) : 0;

    // proxy.CategorizeEndpoints (topology hints not modelled).
    const usesClusterEndpoints = !internalPolicyLocal || externallyAccessible;
    const usesLocalEndpoints = internalPolicyLocal || (externalPolicyLocal && externallyAccessible);
    const all = sp.endpoints;
    const cluster = usesClusterEndpoints ? usableEndpoints(all) : NONE;
    let hasEndpoints = cluster.length > 0;
    let local: ProxyEndpoint[] = NONE;
    let reachable: ProxyEndpoint[];
    if (!usesLocalEndpoints) {
      reachable = cluster;
    } else {
      for (const e of all) {
        if (e.conditions.ready || (e.conditions.serving && e.conditions.terminating)) {
          hasEndpoints = true;
          break;
        }
      }
      local = usableEndpoints(all.filter((e) => e.isLocal));
      // kube-proxy merges the two lists through a map (random order); we keep them sorted.
      reachable = usesClusterEndpoints ? mergeSorted(cluster, local) : local;
    }

    const reachableEndpoints: EndpointPlan[] = reachable.length === 0 ? NONE : [];
    for (const e of reachable) {
      reachableEndpoints.push({
        key: e.key,
        ipText: e.ip,
        ip: fastIPv4(e.ip) ?? 0,
        port: e.port,
        sepChain: "KUBE-SEP-" + endpointHash(name, proto, e.key),
      });
    }
    let clusterEndpoints: EndpointPlan[];
    let localEndpoints: EndpointPlan[];
    if (reachable === cluster) {
      clusterEndpoints = reachableEndpoints;
      localEndpoints = NONE;
    } else if (reachable === local) {
      clusterEndpoints = NONE;
      localEndpoints = reachableEndpoints;
    } else {
      const byKey = new Map<string, EndpointPlan>();
      for (const plan of reachableEndpoints) byKey.set(plan.key, plan);
      clusterEndpoints = cluster.map((e) => byKey.get(e.key) as EndpointPlan);
      localEndpoints = local.map((e) => byKey.get(e.key) as EndpointPlan);
    }

    const usesClusterChain = cluster.length > 0 && usesClusterEndpoints;
    const usesLocalChain = local.length > 0 && usesLocalEndpoints;
    const hasInternalEndpoints = internalPolicyLocal ? hasEndpoints && local.length > 0 : hasEndpoints;
    const hasExternalEndpoints = externalPolicyLocal ? hasEndpoints && local.length > 0 : hasEndpoints;
    const masqChain = hasInternalEndpoints && masqDetector ? (internalPolicyLocal ? MASQ_IN_SVL : MASQ_IN_SVC) : MASQ_NONE;

    servicePorts.push({
      name,
      serviceKey: `${svc.namespace}/${svc.name}`,
      proto,
      protoCode: PROTO_CODE[sp.port.protocol],
      clusterIP,
      clusterIPText: canonicalIPv4(clusterIP),
      port: sp.port.port,
      nodePort,
      healthCheckNodePort,
      externalIPs: external.ips,
      externalIPTexts: external.texts,
      lbIPs: lb.ips,
      lbIPTexts: lb.texts,
      sourceRanges,
      allowFromNode,
      affinitySeconds: svc.sessionAffinity === "ClientIP" ? svc.sessionAffinityTimeoutSeconds : 0,
      internalPolicyLocal,
      externalPolicyLocal,
      hasEndpoints,
      hasInternalEndpoints,
      hasExternalEndpoints,
      usesClusterChain,
      usesLocalChain,
      usesExternalChain: hasEndpoints && externallyAccessible,
      usesFirewallChain: hasEndpoints && lb.ips.length > 0 && sourceRanges.length > 0,
      masqChain,
      svcChain: "KUBE-SVC-" + hash,
      svlChain: "KUBE-SVL-" + hash,
      extChain: "KUBE-EXT-" + hash,
      fwChain: "KUBE-FW-" + hash,
      clusterEndpoints,
      localEndpoints,
      reachableEndpoints,
      endpointCount: all.length,
    });
    if (byService !== undefined) {
      const list = byService.get(svc);
      if (list) list.push(servicePorts[servicePorts.length - 1]);
      else byService.set(svc, [servicePorts[servicePorts.length - 1]]);
    }
  }
  return servicePorts;
}

function canonicalIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

const probabilityCache: string[] = [];

/**
 * kube-proxy's computeProbability(n): fmt.Sprintf("%0.10f", 1.0/float64(n)). Go rounds the
 * exact binary value half-to-even; JavaScript's toFixed rounds exact ties up, which differs for
 * n = 2048, 4096, ... (1/2048 = 0.00048828125 exactly: Go prints 0.0004882812).
 */
export function computeProbability(n: number): string {
  const cached = probabilityCache[n];
  if (cached !== undefined) return cached;
  const x = 1 / n;
  let s = x.toFixed(10);
  const exact = x.toFixed(100);
  const dot = exact.indexOf(".");
  const rest = exact.slice(dot + 11);
  if (/^50*$/.test(rest)) {
    // An exact tie: keep the truncated digits when the last one is even.
    const truncated = exact.slice(0, dot + 11);
    const last = truncated.charCodeAt(truncated.length - 1) - 48;
    if (last % 2 === 0) s = truncated;
  }
  if (n < 100_000) probabilityCache[n] = s;
  return s;
}
