/**
 * One interface for kube-proxy's three modes. A mode compiles the cluster state as one node
 * sees it into the mode's real structures, renders them in the mode's native text, evaluates
 * packets against them (which endpoint, and the work the kernel did to find it), and measures
 * what a sync writes. Turning work into time is the cost profile's job (data, not code).
 */
import type { ClusterState, Protocol } from "../cluster/types.js";

export type ProxyModeName = "iptables" | "nftables" | "ipvs";
export const PROXY_MODE_NAMES: readonly ProxyModeName[] = ["iptables", "nftables", "ipvs"];

/** Random numbers in [0, 1), drawn in order; the simulator passes a seeded stream. */
export interface UniformSource {
  next(): number;
}

export interface CompileOptions {
  /** The node whose view is compiled (its IP is a local address). */
  nodeName: string;
  /** kube-proxy's --cluster-cidr; traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR: string;
  /** IPVS scheduler (rr by default). Ignored by the other modes. */
  ipvsScheduler?: "rr" | "lc" | "dh" | "sh" | "sed" | "nq";
}

/** The first packet of a connection, as the node's netfilter hooks see it. */
export interface Packet {
  /** Source IPv4, unsigned 32-bit. */
  srcIP: number;
  srcPort: number;
  /** Destination IPv4, unsigned 32-bit. */
  dstIP: number;
  dstPort: number;
  protocol: Protocol;
  /**
   * Where the packet enters: "local" for a pod or process on this node (OUTPUT/PREROUTING
   * from a local pod), "external" for a packet arriving from outside the node.
   */
  ingress: "local" | "external";
}

/** The work netfilter/IPVS did for one packet: what the cost profile turns into time. */
export interface Work {
  /** Rules looked at (each rule whose matches were tried, whether or not it matched). */
  rulesTraversed: number;
  /** Individual match expressions evaluated (a rule with -d and --dport and -p is 3). */
  matchesTried: number;
  /** Hash or map lookups (nft verdict maps, IPVS service table, ipset). */
  mapLookups: number;
  /** Jumps and gotos into another chain. */
  chainJumps: number;
}

export type VerdictAction =
  /** DNAT to an endpoint. */
  | "dnat"
  /** The Service has no usable endpoint: ICMP reject (iptables filter table / nft no-endpoint map). */
  | "reject"
  /** Dropped (e.g. a LoadBalancer source range that does not match). */
  | "drop"
  /** Not a Service address: the packet passes untouched. */
  | "none";

export interface Verdict {
  action: VerdictAction;
  /** The chosen endpoint, for dnat. */
  endpointIP?: number;
  endpointPort?: number;
  /** Whether the packet was marked for masquerade (SNAT) on the way. */
  masquerade: boolean;
  work: Work;
}

/** A node's compiled data plane in one mode. */
export interface CompiledDataPlane {
  readonly mode: ProxyModeName;
  readonly nodeName: string;
  /** The mode's native text: iptables-restore input, nft -f input, or ipvsadm -S -n output. */
  render(): string;
  /** Decides one first packet. Draws from `rng` exactly as the kernel's random matches would. */
  evaluate(packet: Packet, rng: UniformSource): Verdict;
  /** Size of the structures, for the sync cost: rules, chains, map elements... */
  size(): DataPlaneSize;
  /**
   * The simulated time (ns), told before evaluate() by planes with state that expires: ClientIP
   * affinity (xt_recent, nft sets with timeouts, IPVS persistence templates).
   */
  setTime?(nowNs: number): void;
  /**
   * Takes over the kernel state that survives a rule reload — affinity entries, IPVS connection
   * counts and rr positions — from the plane this one replaces (of the same mode).
   */
  inheritStateFrom?(previous: CompiledDataPlane): void;
  /**
   * Forgets that kernel state (and the clock): the plane is as freshly compiled. Lets a study
   * reuse one compiled plane across replications that must not see each other.
   */
  resetState?(): void;
}

export interface DataPlaneSize {
  /** iptables: rules across nat and filter; nftables: rules; ipvs: real servers + virtual servers. */
  rules: number;
  chains: number;
  /** nftables map/set elements; IPVS virtual servers; 0 for iptables. */
  mapElements: number;
}

export interface PreviousPlane {
  plane: CompiledDataPlane;
  changedServices: ReadonlySet<string>;
}

export interface ProxyMode {
  readonly name: ProxyModeName;
  /**
   * With `previous` (this node's plane in this mode, compiled from an earlier state), a mode
   * may recompile only the Services in `changedServices` ("namespace/name") and reuse the rest,
   * as kube-proxy's change trackers do. The result must equal a fresh compile of `state`.
   */
  compile(state: ClusterState, options: CompileOptions, previous?: PreviousPlane): CompiledDataPlane;
}
