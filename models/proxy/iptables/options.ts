/**
 * The knobs of kube-proxy's iptables mode that change the rules it writes, with kube-proxy's
 * defaults (v1.31+, IPv4, `--nodeport-addresses` unset).
 */
import type { CompileOptions } from "../types.js";

export interface IptablesOptions extends CompileOptions {
  /**
   * `--iptables-masquerade-bit` (default 14). kube-proxy formats the mark with Go's `%#08x`,
   * which pads the digits (not the prefix) to 8: bit 14 gives "0x00004000".
   */
  masqueradeBit?: number;
  /**
   * The mark string verbatim, overriding `masqueradeBit`. kube-proxy's unit tests build their
   * fake proxier with "0x4000"; the golden tests use that to compare line by line.
   */
  masqueradeMark?: string;
  /** `--masquerade-all` (default false): masquerade every packet to a cluster IP. */
  masqueradeAll?: boolean;
  /** `--iptables-localhost-nodeports` (default true): NodePorts answer on 127.0.0.0/8 too. */
  localhostNodePorts?: boolean;
  /**
   * Whether kube-proxy could create its nfacct counters (default true, as on any kernel with
   * nfnetlink_acct): adds `-m nfacct` to the INVALID drop rule and a localhost rule per NodePort.
   */
  nfacct?: boolean;
  /** Whether iptables supports `MASQUERADE --random-fully` (default true: iptables >= 1.6.2). */
  randomFully?: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal set (default false): no INVALID drop rule. */
  conntrackTCPLiberal?: boolean;
  /**
   * kube-proxy drops the per-endpoint comments when the cluster has more than 1000 endpoints
   * ("large cluster mode"). "auto" (default) applies that threshold; a boolean forces it.
   */
  largeClusterMode?: boolean | "auto";
}

/** kube-proxy's largeClusterEndpointsThreshold. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export interface ResolvedIptablesOptions {
  nodeName: string;
  clusterCIDR: string;
  mark: string;
  markValue: number;
  masqueradeAll: boolean;
  localhostNodePorts: boolean;
  nfacct: boolean;
  randomFully: boolean;
  conntrackTCPLiberal: boolean;
  largeClusterMode: boolean | "auto";
}

/** Go's fmt.Sprintf("%#08x", v): "0x" then at least 8 hex digits. */
export function formatMasqueradeMark(bit: number): string {
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) {
    throw new RangeError(`masquerade bit must be an integer in [0, 31], got ${bit}`);
  }
  return "0x" + (2 ** bit).toString(16).padStart(8, "0");
}

export function resolveOptions(options: IptablesOptions): ResolvedIptablesOptions {
  const mark = options.masqueradeMark ?? formatMasqueradeMark(options.masqueradeBit ?? 14);
  const markValue = Number.parseInt(mark, 16);
  if (!/^0x[0-9a-fA-F]+$/.test(mark) || !Number.isFinite(markValue)) {
    throw new RangeError(`masquerade mark must be hexadecimal like 0x4000, got ${JSON.stringify(mark)}`);
  }
  return {
    nodeName: options.nodeName,
    clusterCIDR: options.clusterCIDR,
    mark,
    markValue,
    masqueradeAll: options.masqueradeAll ?? false,
    localhostNodePorts: options.localhostNodePorts ?? true,
    nfacct: options.nfacct ?? true,
    randomFully: options.randomFully ?? true,
    conntrackTCPLiberal: options.conntrackTCPLiberal ?? false,
    largeClusterMode: options.largeClusterMode ?? "auto",
  };
}

/**
 * The options under which kube-proxy's own unit tests (pkg/proxy/iptables/proxier_test.go,
 * NewFakeProxier) produce their expected dumps: mark "0x4000", a fake iptables without
 * --random-fully, nfacct counters present, localhost NodePorts on. Pod CIDR 10.0.0.0/8.
 */
export const KUBE_PROXY_UNIT_TEST_OPTIONS: Omit<IptablesOptions, "nodeName"> = {
  clusterCIDR: "10.0.0.0/8",
  masqueradeMark: "0x4000",
  randomFully: false,
  nfacct: true,
  localhostNodePorts: true,
};

/** The names of kube-proxy's nfacct counters (pkg/proxy/metrics). */
export const NFACCT_CT_STATE_INVALID = "ct_state_invalid_dropped_pkts";
export const NFACCT_LOCALHOST_NODEPORTS = "localhost_nps_accepted_pkts";
