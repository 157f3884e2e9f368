/**
 * Builds kube-proxy's `kube-proxy` nftables table for one node, as pkg/proxy/nftables/proxier.go
 * (v1.34+) does in a full sync: the fixed part (setupNFTables) and, per service port, its
 * chains, map/set elements and rules. The result is data (ruleset.ts) that render.ts prints and
 * evaluate.ts walks.
 *
 * Order matters twice: the rules inside a chain (they are evaluated in order) and the order of
 * the transaction's commands (a rule may only name chains and sets created before it). Both
 * follow kube-proxy; the only freedom taken is the order of service ports, which kube-proxy
 * takes from a Go map (random per sync) and we take from the cluster state.
 */
import type { ClusterState, EndpointSliceState, ServiceState } from "../../cluster/types.js";
import { parseCidr, parseIPv4, tryParseCidr } from "../../network/ip.js";
import type { Cidr } from "../../network/ip.js";
import { compareEndpointKeys } from "../servicePorts.js";
import type { ProxyEndpoint, ServicePortInfo } from "../servicePorts.js";
import type { CompileOptions } from "../types.js";
import * as N from "./names.js";
import {
  CT_NEW,
  expr,
  verdict,
  FIB_DADDR_LOCAL,
  FIB_SADDR_LOCAL,
  L4PROTO,
  MASQUERADE,
  addrProtoPortKey,
  protoPortKey,
} from "./ruleset.js";
import type { AddrRange, L4, NftChain, NftContainer, NftElement, NftExpr, NftRule, NftVerdict } from "./ruleset.js";

export interface NftablesOptions extends CompileOptions {
  /**
   * The masquerade mark as kube-proxy prints it. kube-proxy formats 1<<masqueradeBit with Go's
   * "%#08x", which gives "0x00004000" for the default bit 14; its unit tests inject "0x4000".
   */
  masqueradeMark?: string;
  /** kube-proxy's --masquerade-all. */
  masqueradeAll?: boolean;
  /**
   * kube-proxy's --nodeport-addresses: "primary" (the node IP; the default of nftables mode) fills
   * the nodeport-ips set; "all" matches `fib daddr type local` instead.
   */
  nodePortAddresses?: "primary" | "all";
}

export interface ResolvedNftOptions {
  readonly nodeName: string;
  readonly nodeIP: number;
  readonly nodeIPText: string;
  /** null: no local-traffic detector (kube-proxy without --cluster-cidr). */
  readonly clusterCIDR: Cidr | null;
  readonly serviceCIDRs: readonly Cidr[];
  readonly mark: string;
  readonly masqueradeAll: boolean;
  readonly nodePortAddresses: "primary" | "all";
}

/** Identifies options that make two compiles' service sections interchangeable. */
export function optionsKey(o: ResolvedNftOptions): string {
  return [o.nodeIPText, o.clusterCIDR?.text ?? "", o.mark, o.masqueradeAll, o.nodePortAddresses].join("|");
}

export function resolveOptions(state: ClusterState, options: NftablesOptions): ResolvedNftOptions {
  const node = state.nodes.find((n) => n.name === options.nodeName);
  if (node === undefined) throw new RangeError(`nftables: no node named ${JSON.stringify(options.nodeName)} in the cluster`);
  const cidrs = state.serviceClusterIPRange
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parseCidr(s));
  return {
    nodeName: node.name,
    nodeIP: parseIPv4(node.ip),
    nodeIPText: node.ip,
    clusterCIDR: options.clusterCIDR === "" ? null : parseCidr(options.clusterCIDR),
    serviceCIDRs: cidrs,
    mark: options.masqueradeMark ?? "0x00004000",
    masqueradeAll: options.masqueradeAll ?? false,
    nodePortAddresses: options.nodePortAddresses ?? "primary",
  };
}

// ---------------------------------------------------------------------------------------------
// The fixed part (setupNFTables).

export type SetupOp =
  | { readonly op: "chain"; readonly chain: NftChain }
  | { readonly op: "rule"; readonly chain: string; readonly rule: NftRule }
  | { readonly op: "container"; readonly container: NftContainer }
  | { readonly op: "flushContainer"; readonly kind: "set" | "map"; readonly name: string }
  | { readonly op: "deleteContainer"; readonly kind: "set" | "map"; readonly name: string }
  | { readonly op: "element"; readonly element: NftElement };

export interface Setup {
  /** The commands in kube-proxy's order; "chain" means add + flush. */
  readonly ops: readonly SetupOp[];
  readonly chains: ReadonlyMap<string, NftChain>;
  /** The fixed sets and maps (not the per-endpoint affinity sets). */
  readonly containers: ReadonlyMap<string, NftContainer>;
  /** Members of nodeport-ips (empty with nodePortAddresses "all", where the set is deleted). */
  readonly nodePortIPs: readonly number[];
}

function range(c: Cidr): AddrRange {
  return { lo: c.base, hi: c.base + c.size, text: c.text };
}

function hostRange(ip: number, text: string): AddrRange {
  return { lo: ip, hi: ip + 1, text };
}

const LOOPBACK = range(parseCidr("127.0.0.0/8"));

function jump(chain: string): NftExpr {
  return expr({ t: "verdict", v: { kind: "jump", chain } });
}

function goto(chain: string): NftExpr {
  return expr({ t: "verdict", v: { kind: "goto", chain } });
}

const JUMP_MARK_MASQ = jump(N.MARK_MASQ);
const DROP: NftExpr = expr({ t: "verdict", v: { kind: "drop" } });
const REJECT: NftExpr = expr({ t: "verdict", v: { kind: "reject" } });
const RETURN: NftExpr = expr({ t: "verdict", v: { kind: "return" } });
const GOTO_REJECT: NftVerdict = verdict({ kind: "goto", chain: N.REJECT_CHAIN });
const VERDICT_DROP: NftVerdict = verdict({ kind: "drop" });

const ADDR_PROTO_PORT_VERDICT = "ipv4_addr . inet_proto . inet_service : verdict";
const PROTO_PORT_VERDICT = "inet_proto . inet_service : verdict";

export function buildSetup(o: ResolvedNftOptions): Setup {
  const ops: SetupOp[] = [];
  const chains = new Map<string, NftChain>();
  const containers = new Map<string, NftContainer>();

  const ensureChain = (name: string, extra: Partial<Pick<NftChain, "base" | "comment">> = {}): void => {
    if (chains.has(name)) return;
    const chain: NftChain = { name, rules: [], ...extra };
    chains.set(name, chain);
    ops.push({ op: "chain", chain });
  };
  const rule = (chain: string, exprs: NftExpr[], comment?: string): void => {
    const r: NftRule = comment === undefined ? { exprs } : { exprs, comment };
    const c = chains.get(chain);
    if (c === undefined) throw new Error(`nftables setup: rule for unknown chain ${chain}`);
    c.rules.push(r);
    ops.push({ op: "rule", chain, rule: r });
  };
  const container = (c: NftContainer): void => {
    containers.set(c.name, c);
    ops.push({ op: "container", container: c });
  };

  // Base chains: filters that must see pre-DNAT addresses run before DNAT (-110); the others
  // at the filter priority (0); NAT at dstnat (-100) and srcnat (100).
  const baseChains: Array<[string, NftChain["base"]]> = [
    [N.FILTER_PREROUTING_PRE_DNAT, { type: "filter", hook: "prerouting", priority: -110 }],
    [N.FILTER_OUTPUT_PRE_DNAT, { type: "filter", hook: "output", priority: -110 }],
    [N.FILTER_INPUT, { type: "filter", hook: "input", priority: 0 }],
    [N.FILTER_FORWARD, { type: "filter", hook: "forward", priority: 0 }],
    [N.FILTER_OUTPUT, { type: "filter", hook: "output", priority: 0 }],
    [N.NAT_PREROUTING, { type: "nat", hook: "prerouting", priority: -100 }],
    [N.NAT_OUTPUT, { type: "nat", hook: "output", priority: -100 }],
    [N.NAT_POSTROUTING, { type: "nat", hook: "postrouting", priority: 100 }],
  ];
  for (const [name, base] of baseChains) ensureChain(name, { base });

  // Regular chains jumped to from the base chains, with their jump rules.
  const jumpChains: Array<[string, string, boolean]> = [
    [N.NODEPORT_ENDPOINTS_CHECK, N.FILTER_INPUT, true],
    [N.SERVICE_ENDPOINTS_CHECK, N.FILTER_INPUT, true],
    [N.SERVICE_ENDPOINTS_CHECK, N.FILTER_FORWARD, true],
    [N.SERVICE_ENDPOINTS_CHECK, N.FILTER_OUTPUT, true],
    [N.FIREWALL_CHECK, N.FILTER_PREROUTING_PRE_DNAT, true],
    [N.FIREWALL_CHECK, N.FILTER_OUTPUT_PRE_DNAT, true],
    [N.SERVICES, N.NAT_OUTPUT, false],
    [N.SERVICES, N.NAT_PREROUTING, false],
    [N.MASQUERADING, N.NAT_POSTROUTING, false],
    [N.CLUSTER_IPS_CHECK, N.FILTER_FORWARD, true],
    [N.CLUSTER_IPS_CHECK, N.FILTER_OUTPUT, true],
  ];
  for (const [dst, src, ctNew] of jumpChains) {
    ensureChain(dst);
    rule(src, ctNew ? [CT_NEW, jump(dst)] : [jump(dst)]);
  }
  for (const name of [N.SERVICES, N.CLUSTER_IPS_CHECK, N.MASQUERADING, N.MARK_MASQ]) ensureChain(name);

  rule(N.MARK_MASQ, [expr({ t: "markSet", op: "or", mark: o.mark })]);
  rule(N.MASQUERADING, [expr({ t: "markZero", mark: o.mark }), RETURN]);
  rule(N.MASQUERADING, [expr({ t: "markSet", op: "xor", mark: o.mark })]);
  rule(N.MASQUERADING, [MASQUERADE]);

  container({ kind: "set", name: N.CLUSTER_IPS, type: "ipv4_addr", comment: "Active ClusterIPs" });
  rule(N.CLUSTER_IPS_CHECK, [expr({ t: "namedSet", field: "daddr", set: N.CLUSTER_IPS }), REJECT], "Reject traffic to invalid ports of ClusterIPs");
  if (o.serviceCIDRs.length > 0) {
    rule(
      N.CLUSTER_IPS_CHECK,
      [
        {
          t: "anonSet",
          field: "daddr",
          neg: false,
          members: o.serviceCIDRs.map(range),
          membersText: o.serviceCIDRs.map((c) => c.text).join(","),
        },
        DROP,
      ],
      "Drop traffic to unallocated ClusterIPs",
    );
  }

  container({ kind: "set", name: N.NODEPORT_IPS, type: "ipv4_addr", comment: "IPs that accept NodePort traffic" });
  const nodePortIPs: number[] = [];
  if (o.nodePortAddresses === "all") {
    containers.delete(N.NODEPORT_IPS);
    ops.push({ op: "deleteContainer", kind: "set", name: N.NODEPORT_IPS });
  } else {
    ops.push({ op: "flushContainer", kind: "set", name: N.NODEPORT_IPS });
    nodePortIPs.push(o.nodeIP);
    ops.push({ op: "element", element: { container: N.NODEPORT_IPS, key: o.nodeIPText, lookup: o.nodeIP } });
  }

  container({
    kind: "map",
    name: N.NO_ENDPOINT_SERVICES,
    type: ADDR_PROTO_PORT_VERDICT,
    comment: "vmap to drop or reject packets to services with no endpoints",
  });
  container({
    kind: "map",
    name: N.NO_ENDPOINT_NODEPORTS,
    type: PROTO_PORT_VERDICT,
    comment: "vmap to drop or reject packets to service nodeports with no endpoints",
  });

  ensureChain(N.REJECT_CHAIN, { comment: "helper for @no-endpoint-services / @no-endpoint-nodeports" });
  rule(N.REJECT_CHAIN, [REJECT]);
  rule(N.SERVICE_ENDPOINTS_CHECK, [expr({ t: "vmap", key: "addrProtoPort", map: N.NO_ENDPOINT_SERVICES })]);
  const nodePortDest: NftExpr[] =
    o.nodePortAddresses === "all"
      ? [expr({ t: "addr", field: "daddr", neg: true, range: LOOPBACK })]
      : [expr({ t: "namedSet", field: "daddr", set: N.NODEPORT_IPS })];
  rule(N.NODEPORT_ENDPOINTS_CHECK, [...nodePortDest, expr({ t: "vmap", key: "protoPort", map: N.NO_ENDPOINT_NODEPORTS })]);

  container({
    kind: "map",
    name: N.FIREWALL_IPS,
    type: ADDR_PROTO_PORT_VERDICT,
    comment: "destinations that are subject to LoadBalancerSourceRanges",
  });
  ensureChain(N.FIREWALL_CHECK);
  rule(N.FIREWALL_CHECK, [expr({ t: "vmap", key: "addrProtoPort", map: N.FIREWALL_IPS })]);

  container({ kind: "map", name: N.SERVICE_IPS, type: ADDR_PROTO_PORT_VERDICT, comment: "ClusterIP, ExternalIP and LoadBalancer IP traffic" });
  container({ kind: "map", name: N.SERVICE_NODEPORTS, type: PROTO_PORT_VERDICT, comment: "NodePort traffic" });
  rule(N.SERVICES, [expr({ t: "vmap", key: "addrProtoPort", map: N.SERVICE_IPS })]);
  rule(
    N.SERVICES,
    o.nodePortAddresses === "all"
      ? [FIB_DADDR_LOCAL, ...nodePortDest, expr({ t: "vmap", key: "protoPort", map: N.SERVICE_NODEPORTS })]
      : [...nodePortDest, expr({ t: "vmap", key: "protoPort", map: N.SERVICE_NODEPORTS })],
  );

  // Every full sync empties the element containers and refills them.
  ops.push({ op: "flushContainer", kind: "set", name: N.CLUSTER_IPS });
  for (const m of [N.SERVICE_IPS, N.FIREWALL_IPS, N.NO_ENDPOINT_SERVICES, N.NO_ENDPOINT_NODEPORTS, N.SERVICE_NODEPORTS]) {
    ops.push({ op: "flushContainer", kind: "map", name: m });
  }
  return { ops, chains, containers, nodePortIPs };
}

// ---------------------------------------------------------------------------------------------
// Per service port.

export interface PortSection {
  /** kube-proxy's ServicePortName.String(): "ns/name:port", or "ns/name" for an unnamed port. */
  readonly name: string;
  readonly endpointChains: readonly NftChain[];
  readonly clusterChain?: NftChain;
  readonly localChain?: NftChain;
  readonly externalChain?: NftChain;
  readonly firewallChain?: NftChain;
  /** The chain whose first rule is the ClusterIP masquerade rule, if there is one. */
  readonly internalMasqIn?: NftChain;
  /** Elements written before the firewall chain is ensured (ClusterIP, external IPs). */
  readonly elementsA: readonly NftElement[];
  /** Elements written after it (load-balancer IPs, node port). */
  readonly elementsB: readonly NftElement[];
  readonly affinitySets: readonly NftContainer[];
}

export interface ServiceSection {
  /** "namespace/name": kube-proxy rewrites all chains of a Service when anything of it changes. */
  readonly key: string;
  /** Everything the Service's chains depend on; equal signatures give equal sections. */
  readonly signature: string;
  readonly ports: readonly PortSection[];
  /**
   * The Service and slice objects the section was last found to stand for. Cluster states are
   * never changed in place (a change publishes new objects), so a later state holding these
   * very objects needs the same section, without building its ports and signature again.
   */
  source?: { service: ServiceState; slices: readonly EndpointSliceState[] };
}

function l4(p: string): L4 {
  return p.toLowerCase() as L4;
}

/** The signature of one Service's ports as this node sees them. */
export function serviceSignature(ports: readonly ServicePortInfo[]): string {
  const svc = ports[0].service;
  const parts: unknown[] = [
    svc.type,
    svc.clusterIP,
    svc.externalIPs,
    svc.loadBalancerIngress,
    svc.loadBalancerSourceRanges,
    svc.externalTrafficPolicy,
    svc.internalTrafficPolicy,
    svc.sessionAffinity,
    svc.sessionAffinityTimeoutSeconds,
  ];
  for (const sp of ports) {
    parts.push(sp.port.name, sp.port.protocol, sp.port.port, sp.port.nodePort ?? 0);
    let eps = "";
    for (const e of sp.endpoints) {
      const c = e.conditions;
      eps += `${e.key}/${c.ready ? 1 : 0}${c.serving ? 1 : 0}${c.terminating ? 1 : 0}${e.isLocal ? 1 : 0};`;
    }
    parts.push(eps);
  }
  return JSON.stringify(parts);
}

export function buildServiceSection(ports: readonly ServicePortInfo[], o: ResolvedNftOptions, signature: string): ServiceSection {
  const svc = ports[0].service;
  return { key: `${svc.namespace}/${svc.name}`, signature, ports: ports.map((sp) => buildPortSection(sp, o)) };
}

function buildPortSection(sp: ServicePortInfo, o: ResolvedNftOptions): PortSection {
  const svc = sp.service;
  const port = sp.port;
  const proto = l4(port.protocol);
  const name = sp.name;
  const base = N.servicePortChainNameBase(svc.namespace, svc.name, proto, port.name);
  const clusterName = N.SERVICE_CHAIN_PREFIX + base;
  const localName = N.LOCAL_CHAIN_PREFIX + base;
  const externalName = N.EXTERNAL_CHAIN_PREFIX + base;
  const firewallName = N.FIREWALL_CHAIN_PREFIX + base;

  const clusterIPText = svc.clusterIP as string;
  const clusterIP = parseIPv4(clusterIPText);
  const nodePort = svc.type === "NodePort" || svc.type === "LoadBalancer" ? (port.nodePort ?? 0) : 0;
  const lbVIPs = svc.type === "LoadBalancer" ? svc.loadBalancerIngress : [];
  const externalIPs = svc.externalIPs;
  // kube-proxy keeps the ranges that parse (whitespace trimmed) and normalizes them.
  const sourceRanges: Cidr[] = [];
  if (svc.type === "LoadBalancer") {
    for (const text of svc.loadBalancerSourceRanges) {
      const c = tryParseCidr(text.trim());
      if (c !== null) sourceRanges.push(c);
    }
  }

  // pkg/proxy/serviceport.go and topology.go (CategorizeEndpoints), without topology hints.
  const externallyAccessible = nodePort !== 0 || lbVIPs.length > 0 || externalIPs.length > 0;
  const externalPolicyLocal = externallyAccessible && svc.externalTrafficPolicy === "Local";
  const internalPolicyLocal = svc.internalTrafficPolicy === "Local";
  const usesClusterEndpoints = !internalPolicyLocal || externallyAccessible;
  const usesLocalEndpoints = internalPolicyLocal || externalPolicyLocal;
  const clusterEndpoints = usesClusterEndpoints ? sp.clusterEndpoints : [];
  const localEndpoints = usesLocalEndpoints ? sp.localEndpoints : [];
  // Some endpoint is ready, or serving while terminating, somewhere in the cluster.
  const hasEndpoints = sp.clusterEndpoints.length > 0;
  let reachable: readonly ProxyEndpoint[];
  if (!usesLocalEndpoints) reachable = clusterEndpoints;
  else if (!usesClusterEndpoints) reachable = localEndpoints;
  else {
    const byKey = new Map<string, ProxyEndpoint>();
    for (const e of clusterEndpoints) byKey.set(e.key, e);
    for (const e of localEndpoints) byKey.set(e.key, e);
    reachable = [...byKey.values()].sort((a, b) => compareEndpointKeys(a.key, b.key));
  }

  const affinity = svc.sessionAffinity === "ClientIP";
  const endpointChainOf = new Map<string, NftChain>();
  const affinitySetOf = new Map<string, string>();
  const endpointChains: NftChain[] = [];
  const affinitySets: NftContainer[] = [];
  for (const ep of reachable) {
    const epBase = N.endpointChainNameBase(svc.namespace, svc.name, proto, port.name, ep.ip, ep.port);
    const epIP = parseIPv4(ep.ip);
    const rules: NftRule[] = [{ exprs: [expr({ t: "addr", field: "saddr", neg: false, range: hostRange(epIP, ep.ip) }), JUMP_MARK_MASQ] }];
    if (affinity) {
      const setName = N.AFFINITY_SET_PREFIX + epBase;
      affinitySetOf.set(ep.key, setName);
      affinitySets.push({
        kind: "set",
        name: setName,
        type: "ipv4_addr",
        flags: ["dynamic", "timeout"],
        timeoutSeconds: svc.sessionAffinityTimeoutSeconds,
      });
      rules.push({ exprs: [expr({ t: "update", set: setName })] });
    }
    rules.push({ exprs: [L4PROTO[proto], expr({ t: "dnat", ip: epIP, ipText: ep.ip, port: ep.port })] });
    const chain: NftChain = { name: N.ENDPOINT_CHAIN_PREFIX + epBase, rules };
    endpointChainOf.set(ep.key, chain);
    endpointChains.push(chain);
  }

  const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints;
  const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints;
  const clusterChain: NftChain | undefined = usesClusterPolicyChain ? { name: clusterName, rules: [] } : undefined;
  const localChain: NftChain | undefined = usesLocalPolicyChain ? { name: localName, rules: [] } : undefined;

  const internalChainName = internalPolicyLocal ? localName : clusterName;
  const hasInternalEndpoints = hasEndpoints && !(internalPolicyLocal && localEndpoints.length === 0);
  const externalPolicyChainName = externalPolicyLocal ? localName : clusterName;
  const hasExternalEndpoints = hasEndpoints && !(externalPolicyLocal && localEndpoints.length === 0);
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible;
  const externalChain: NftChain | undefined = usesExternalTrafficChain ? { name: externalName, rules: [] } : undefined;

  let internalVerdict: NftVerdict | undefined;
  let externalVerdict: NftVerdict | undefined;
  if (!hasEndpoints) {
    internalVerdict = GOTO_REJECT;
    externalVerdict = GOTO_REJECT;
  } else {
    if (!hasInternalEndpoints) internalVerdict = VERDICT_DROP;
    if (!hasExternalEndpoints) externalVerdict = VERDICT_DROP;
  }

  const elementsA: NftElement[] = [];
  const elementsB: NftElement[] = [];
  const apk = (ip: number, ipText: string): { key: string; lookup: number } => ({
    key: `${ipText} . ${proto} . ${port.port}`,
    lookup: addrProtoPortKey(ip, proto, port.port),
  });
  elementsA.push({ container: N.CLUSTER_IPS, key: clusterIPText, lookup: clusterIP });
  if (hasInternalEndpoints) {
    elementsA.push({ container: N.SERVICE_IPS, ...apk(clusterIP, clusterIPText), value: verdict({ kind: "goto", chain: internalChainName }) });
  } else {
    elementsA.push({ container: N.NO_ENDPOINT_SERVICES, ...apk(clusterIP, clusterIPText), comment: name, value: internalVerdict as NftVerdict });
  }
  const externalGoto: NftVerdict = verdict({ kind: "goto", chain: externalName });
  for (const text of externalIPs) {
    const ip = parseIPv4(text);
    if (hasEndpoints) elementsA.push({ container: N.SERVICE_IPS, ...apk(ip, text), value: externalGoto });
    if (!hasExternalEndpoints) {
      elementsA.push({ container: N.NO_ENDPOINT_SERVICES, ...apk(ip, text), comment: name, value: externalVerdict as NftVerdict });
    }
  }

  const usesFirewallChain = lbVIPs.length > 0 && sourceRanges.length > 0;
  const firewallChain: NftChain | undefined = usesFirewallChain ? { name: firewallName, rules: [] } : undefined;
  for (const text of lbVIPs) {
    const ip = parseIPv4(text);
    if (hasEndpoints) elementsB.push({ container: N.SERVICE_IPS, ...apk(ip, text), value: externalGoto });
    if (usesFirewallChain) elementsB.push({ container: N.FIREWALL_IPS, ...apk(ip, text), value: verdict({ kind: "goto", chain: firewallName }) });
  }
  if (!hasExternalEndpoints) {
    for (const text of lbVIPs) {
      elementsB.push({ container: N.NO_ENDPOINT_SERVICES, ...apk(parseIPv4(text), text), comment: name, value: externalVerdict as NftVerdict });
    }
  }
  if (nodePort !== 0) {
    const key = `${proto} . ${nodePort}`;
    const lookup = protoPortKey(proto, nodePort);
    if (hasEndpoints) elementsB.push({ container: N.SERVICE_NODEPORTS, key, lookup, value: externalGoto });
    if (!hasExternalEndpoints) {
      elementsB.push({ container: N.NO_ENDPOINT_NODEPORTS, key, lookup, comment: name, value: externalVerdict as NftVerdict });
    }
  }

  // Rules, in the order kube-proxy adds them to each chain.
  let internalMasqIn: NftChain | undefined;
  if (hasInternalEndpoints && (o.masqueradeAll || o.clusterCIDR !== null)) {
    const chain = internalPolicyLocal ? localChain : clusterChain;
    if (chain !== undefined) {
      const daddr: NftExpr = expr({ t: "addr", field: "daddr", neg: false, range: hostRange(clusterIP, clusterIPText) });
      chain.rules.push({
        exprs: o.masqueradeAll
          ? [daddr, JUMP_MARK_MASQ]
          : [daddr, expr({ t: "addr", field: "saddr", neg: true, range: range(o.clusterCIDR as Cidr) }), JUMP_MARK_MASQ],
      });
      internalMasqIn = chain;
    }
  }
  if (externalChain !== undefined) {
    if (!externalPolicyLocal) {
      externalChain.rules.push({ exprs: [JUMP_MARK_MASQ] });
    } else {
      if (o.clusterCIDR !== null) {
        externalChain.rules.push({
          exprs: [expr({ t: "addr", field: "saddr", neg: false, range: range(o.clusterCIDR) }), goto(clusterName)],
          comment: "short-circuit pod traffic",
        });
      }
      externalChain.rules.push({ exprs: [FIB_SADDR_LOCAL, JUMP_MARK_MASQ], comment: "masquerade local traffic" });
      externalChain.rules.push({ exprs: [FIB_SADDR_LOCAL, goto(clusterName)], comment: "short-circuit local traffic" });
    }
    if (hasExternalEndpoints) externalChain.rules.push({ exprs: [goto(externalPolicyChainName)] });
  }
  if (firewallChain !== undefined) {
    const members: AddrRange[] = [];
    let allowFromNode = false;
    for (const c of sourceRanges) {
      members.push(range(c));
      if (o.nodeIP >= c.base && o.nodeIP < c.base + c.size) allowFromNode = true;
    }
    if (allowFromNode) for (const text of lbVIPs) members.push(hostRange(parseIPv4(text), text));
    firewallChain.rules.push({
      exprs: [expr({ t: "anonSet", field: "saddr", neg: true, members, membersText: members.map((m) => m.text).join(" , ") }), DROP],
    });
  }
  const writeServiceToEndpoints = (chain: NftChain, eps: readonly ProxyEndpoint[]): void => {
    if (affinity) {
      for (const ep of eps) {
        chain.rules.push({
          exprs: [expr({ t: "namedSet", field: "saddr", set: affinitySetOf.get(ep.key) as string }), goto((endpointChainOf.get(ep.key) as NftChain).name)],
        });
      }
    }
    chain.rules.push({ exprs: [expr({ t: "numgen", chains: eps.map((ep) => (endpointChainOf.get(ep.key) as NftChain).name) })] });
  };
  if (clusterChain !== undefined) writeServiceToEndpoints(clusterChain, clusterEndpoints);
  if (localChain !== undefined) writeServiceToEndpoints(localChain, localEndpoints);

  const section: {
    -readonly [K in keyof PortSection]: PortSection[K];
  } = { name, endpointChains, elementsA, elementsB, affinitySets };
  if (clusterChain !== undefined) section.clusterChain = clusterChain;
  if (localChain !== undefined) section.localChain = localChain;
  if (externalChain !== undefined) section.externalChain = externalChain;
  if (firewallChain !== undefined) section.firewallChain = firewallChain;
  if (internalMasqIn !== undefined) section.internalMasqIn = internalMasqIn;
  return section;
}


