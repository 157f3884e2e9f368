/**
 * Builds what kube-proxy's IPVS mode (pkg/proxy/ipvs/proxier.go, syncProxyRules) programs on one
 * node: IPVS virtual servers with their real servers, the ipsets, and the small fixed iptables
 * part (writeIptablesRules) that matches those ipsets. Data only; dataplane.ts renders and
 * evaluates it.
 *
 * Virtual servers, per service port: its ClusterIP; each external IP; each load-balancer
 * ingress IP; and, for a NodePort, each node address (here the node's IP: svcsim models one
 * address per node, kube-proxy uses every local address but kube-ipvs0's). Real servers are the
 * endpoints with weight 1: for the ClusterIP the cluster endpoints, or the local ones under
 * internalTrafficPolicy Local; for the external addresses the local ones under
 * externalTrafficPolicy Local. As kube-proxy does since PR 97081, a "local only" virtual server
 * with no local endpoint falls back to the cluster endpoints (pod traffic still works).
 * ClientIP affinity makes the virtual server persistent with the affinity timeout.
 */
import type { ClusterState } from "../../cluster/types.js";
import { parseCidr, parseIPv4, tryParseCidr } from "../../network/ip.js";
import type { Cidr } from "../../network/ip.js";
import type { ProxyEndpoint } from "../servicePorts.js";
import { servicePortsForNode } from "../servicePorts.js";
import type { CompileOptions } from "../types.js";

export type IpvsScheduler = "rr" | "lc" | "dh" | "sh" | "sed" | "nq";
export type L4 = "tcp" | "udp" | "sctp";

export const L4_NUMBER: Readonly<Record<L4, number>> = { tcp: 6, udp: 17, sctp: 132 };

export interface IpvsOptions extends CompileOptions {
  /** kube-proxy formats 1<<masqueradeBit with Go's "%#08x": "0x00004000" by default. */
  masqueradeMark?: string;
  /** kube-proxy's --masquerade-all. */
  masqueradeAll?: boolean;
}

export interface RealServer {
  readonly ip: number;
  readonly ipText: string;
  readonly port: number;
  readonly weight: number;
  /** "10.244.1.5:8080" */
  readonly key: string;
}

export interface VirtualServer {
  /** "TCP 10.96.0.1:443", as `ipvsadm -L -n` names it. */
  readonly key: string;
  readonly protocol: L4;
  readonly ip: number;
  readonly ipText: string;
  readonly port: number;
  readonly scheduler: IpvsScheduler;
  /** Persistence timeout in seconds (ClientIP affinity), if persistent. */
  readonly persistenceTimeout?: number;
  /** In `ipvsadm -S` order (see dataplane.ts). */
  readonly realServers: readonly RealServer[];
  /** kube-proxy's ServicePortName of the port behind it. */
  readonly servicePort: string;
  readonly kind: "clusterIP" | "externalIP" | "loadBalancer" | "nodePort";
}

/** kube-proxy's ipsets (pkg/proxy/ipvs/ipset.go), in its ipsetInfo order. */
export const IPSETS = [
  ["KUBE-LOOP-BACK", "hash:ip,port,ip", "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"],
  ["KUBE-CLUSTER-IP", "hash:ip,port", "Kubernetes service cluster ip + port for masquerade purpose"],
  ["KUBE-EXTERNAL-IP", "hash:ip,port", "Kubernetes service external ip + port for masquerade and filter purpose"],
  ["KUBE-EXTERNAL-IP-LOCAL", "hash:ip,port", "Kubernetes service external ip + port with externalTrafficPolicy=local"],
  ["KUBE-LOAD-BALANCER", "hash:ip,port", "Kubernetes service lb portal"],
  ["KUBE-LOAD-BALANCER-FW", "hash:ip,port", "Kubernetes service load balancer ip + port for load balancer with sourceRange"],
  ["KUBE-LOAD-BALANCER-LOCAL", "hash:ip,port", "Kubernetes service load balancer ip + port with externalTrafficPolicy=local"],
  ["KUBE-LOAD-BALANCER-SOURCE-IP", "hash:ip,port,ip", "Kubernetes service load balancer ip + port + source IP for packet filter purpose"],
  ["KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net", "Kubernetes service load balancer ip + port + source cidr for packet filter purpose"],
  ["KUBE-NODE-PORT-TCP", "bitmap:port", "Kubernetes nodeport TCP port for masquerade purpose"],
  ["KUBE-NODE-PORT-LOCAL-TCP", "bitmap:port", "Kubernetes nodeport TCP port with externalTrafficPolicy=local"],
  ["KUBE-NODE-PORT-UDP", "bitmap:port", "Kubernetes nodeport UDP port for masquerade purpose"],
  ["KUBE-NODE-PORT-LOCAL-UDP", "bitmap:port", "Kubernetes nodeport UDP port with externalTrafficPolicy=local"],
  ["KUBE-NODE-PORT-SCTP-HASH", "hash:ip,port", "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"],
  ["KUBE-NODE-PORT-LOCAL-SCTP-HASH", "hash:ip,port", "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"],
  ["KUBE-HEALTH-CHECK-NODE-PORT", "bitmap:port", "Kubernetes health check node port"],
  ["KUBE-IPVS-IPS", "hash:ip", "Addresses on the ipvs interface"],
] as const;

export type IpsetName = (typeof IPSETS)[number][0];
export type IpsetType = (typeof IPSETS)[number][1];

/** One ipset entry, with its text as `ipset add` takes it and the parts matching needs. */
export interface IpsetEntry {
  readonly text: string;
  readonly ip?: number;
  readonly proto?: L4;
  readonly port?: number;
  /** hash:ip,port,ip: the source IP; hash:ip,port,net: the source range [lo, hi). */
  readonly srcLo?: number;
  readonly srcHi?: number;
}

export interface ResolvedIpvsOptions {
  readonly nodeName: string;
  readonly nodeIP: number;
  readonly nodeIPText: string;
  readonly clusterCIDR: Cidr | null;
  readonly mark: string;
  readonly masqueradeAll: boolean;
  readonly scheduler: IpvsScheduler;
}

export interface IpvsCompiled {
  readonly options: ResolvedIpvsOptions;
  /** In kube-proxy's creation order (service port by service port). */
  readonly virtualServers: readonly VirtualServer[];
  /** Entries per set, in insertion order, without duplicates. */
  readonly ipsets: ReadonlyMap<IpsetName, ReadonlyMap<string, IpsetEntry>>;
  /** (LB IP, protocol, port) that the node itself may not reach (source ranges exclude it). */
  readonly lbNoNodeAccess: readonly IpsetEntry[];
}

export function resolveIpvsOptions(state: ClusterState, options: IpvsOptions): ResolvedIpvsOptions {
  const node = state.nodes.find((n) => n.name === options.nodeName);
  if (node === undefined) throw new RangeError(`ipvs: no node named ${JSON.stringify(options.nodeName)} in the cluster`);
  return {
    nodeName: node.name,
    nodeIP: parseIPv4(node.ip),
    nodeIPText: node.ip,
    clusterCIDR: options.clusterCIDR === "" ? null : parseCidr(options.clusterCIDR),
    mark: options.masqueradeMark ?? "0x00004000",
    masqueradeAll: options.masqueradeAll ?? false,
    scheduler: options.ipvsScheduler ?? "rr",
  };
}

function l4(p: string): L4 {
  return p.toLowerCase() as L4;
}

export function compileIpvsState(state: ClusterState, options: IpvsOptions): IpvsCompiled {
  const o = resolveIpvsOptions(state, options);
  const sets = new Map<IpsetName, Map<string, IpsetEntry>>();
  for (const [name] of IPSETS) sets.set(name, new Map());
  const add = (set: IpsetName, e: IpsetEntry): void => {
    (sets.get(set) as Map<string, IpsetEntry>).set(e.text, e);
  };
  const ipPort = (ip: number, ipText: string, proto: L4, port: number): IpsetEntry => ({ text: `${ipText},${proto}:${port}`, ip, proto, port });
  const virtualServers: VirtualServer[] = [];
  const lbNoNodeAccess: IpsetEntry[] = [];

  for (const sp of servicePortsForNode(state, o.nodeName)) {
    const svc = sp.service;
    const proto = l4(sp.port.protocol);
    const port = sp.port.port;
    const nodePort = svc.type === "NodePort" || svc.type === "LoadBalancer" ? (sp.port.nodePort ?? 0) : 0;
    const lbVIPs = svc.type === "LoadBalancer" ? svc.loadBalancerIngress : [];
    const externallyAccessible = nodePort !== 0 || lbVIPs.length > 0 || svc.externalIPs.length > 0;
    const externalPolicyLocal = externallyAccessible && svc.externalTrafficPolicy === "Local";
    const internalPolicyLocal = svc.internalTrafficPolicy === "Local";
    const usesClusterEndpoints = !internalPolicyLocal || externallyAccessible;
    const usesLocalEndpoints = internalPolicyLocal || externalPolicyLocal;
    const clusterEps = usesClusterEndpoints ? sp.clusterEndpoints : [];
    const localEps = usesLocalEndpoints ? sp.localEndpoints : [];
    const realServersFor = (onlyLocal: boolean): RealServer[] => {
      const eps: readonly ProxyEndpoint[] = onlyLocal && localEps.length > 0 ? localEps : clusterEps;
      return eps.map((e) => ({ ip: parseIPv4(e.ip), ipText: e.ip, port: e.port, weight: 1, key: e.key }));
    };
    const persistence = svc.sessionAffinity === "ClientIP" ? svc.sessionAffinityTimeoutSeconds : undefined;
    const vs = (ipText: string, vport: number, kind: VirtualServer["kind"], onlyLocal: boolean): void => {
      const v: VirtualServer = {
        key: `${proto.toUpperCase()} ${ipText}:${vport}`,
        protocol: proto,
        ip: parseIPv4(ipText),
        ipText,
        port: vport,
        scheduler: o.scheduler,
        realServers: realServersFor(onlyLocal),
        servicePort: sp.name,
        kind,
        ...(persistence === undefined ? {} : { persistenceTimeout: persistence }),
      };
      virtualServers.push(v);
    };

    // Hairpin: every local endpoint (whatever its readiness) in KUBE-LOOP-BACK.
    for (const e of sp.endpoints) {
      if (!e.isLocal) continue;
      const ip = parseIPv4(e.ip);
      add("KUBE-LOOP-BACK", { text: `${e.ip},${proto}:${e.port},${e.ip}`, ip, proto, port: e.port, srcLo: ip, srcHi: ip + 1 });
    }

    const clusterIPText = svc.clusterIP as string;
    add("KUBE-CLUSTER-IP", ipPort(parseIPv4(clusterIPText), clusterIPText, proto, port));
    add("KUBE-IPVS-IPS", { text: clusterIPText, ip: parseIPv4(clusterIPText) });
    vs(clusterIPText, port, "clusterIP", internalPolicyLocal);

    for (const text of svc.externalIPs) {
      add(externalPolicyLocal ? "KUBE-EXTERNAL-IP-LOCAL" : "KUBE-EXTERNAL-IP", ipPort(parseIPv4(text), text, proto, port));
      // The address is bound to kube-ipvs0 unless the node already has it.
      if (text !== o.nodeIPText) add("KUBE-IPVS-IPS", { text, ip: parseIPv4(text) });
      vs(text, port, "externalIP", externalPolicyLocal);
    }

    const sourceRanges: Cidr[] = [];
    if (svc.type === "LoadBalancer") {
      for (const r of svc.loadBalancerSourceRanges) {
        const c = tryParseCidr(r.trim());
        if (c !== null) sourceRanges.push(c);
      }
    }
    for (const text of lbVIPs) {
      const ip = parseIPv4(text);
      const entry = ipPort(ip, text, proto, port);
      add("KUBE-LOAD-BALANCER", entry);
      if (externalPolicyLocal) add("KUBE-LOAD-BALANCER-LOCAL", entry);
      if (sourceRanges.length > 0) {
        add("KUBE-LOAD-BALANCER-FW", entry);
        let allowFromNode = false;
        for (const c of sourceRanges) {
          add("KUBE-LOAD-BALANCER-SOURCE-CIDR", { text: `${text},${proto}:${port},${c.text}`, ip, proto, port, srcLo: c.base, srcHi: c.base + c.size });
          if (o.nodeIP >= c.base && o.nodeIP < c.base + c.size) allowFromNode = true;
        }
        if (allowFromNode) {
          add("KUBE-LOAD-BALANCER-SOURCE-IP", { text: `${text},${proto}:${port},${text}`, ip, proto, port, srcLo: ip, srcHi: ip + 1 });
        } else {
          lbNoNodeAccess.push(entry);
        }
      }
      if (text !== o.nodeIPText) add("KUBE-IPVS-IPS", { text, ip });
      vs(text, port, "loadBalancer", externalPolicyLocal);
    }

    if (nodePort !== 0) {
      const entries: Array<[IpsetName, IpsetName, IpsetEntry]> = [];
      if (proto === "sctp") {
        entries.push(["KUBE-NODE-PORT-SCTP-HASH", "KUBE-NODE-PORT-LOCAL-SCTP-HASH", ipPort(o.nodeIP, o.nodeIPText, proto, nodePort)]);
      } else {
        const e: IpsetEntry = { text: String(nodePort), port: nodePort };
        entries.push(proto === "tcp" ? ["KUBE-NODE-PORT-TCP", "KUBE-NODE-PORT-LOCAL-TCP", e] : ["KUBE-NODE-PORT-UDP", "KUBE-NODE-PORT-LOCAL-UDP", e]);
      }
      for (const [set, localSet, e] of entries) {
        add(set, e);
        if (externalPolicyLocal) add(localSet, e);
      }
      vs(o.nodeIPText, nodePort, "nodePort", externalPolicyLocal);
    }

    if (svc.healthCheckNodePort !== undefined && svc.healthCheckNodePort !== 0) {
      add("KUBE-HEALTH-CHECK-NODE-PORT", { text: String(svc.healthCheckNodePort), port: svc.healthCheckNodePort });
    }
  }
  return { options: o, virtualServers, ipsets: sets, lbNoNodeAccess };
}

