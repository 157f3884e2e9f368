/**
 * Names of kube-proxy's nftables objects (pkg/proxy/nftables/proxier.go): the fixed chains,
 * sets and maps of the `kube-proxy` table, and the per-service and per-endpoint chain names
 * "<prefix><HASH>-<ns>/<name>/<proto>/<portName>[__<ip>/<port>]", where HASH is the first 8
 * characters of base32(sha256(the rest)) and the whole base is truncated (with "...") to 240
 * characters, as kube-proxy's hashAndTruncate does.
 */
import crypto from "node:crypto";
import { base32Prefix16 } from "../hash.js";

export const TABLE = "kube-proxy";
export const FAMILY = "ip";

// Base chains (kube-proxy v1.34+: filter chains split into pre-DNAT and post-DNAT halves).
export const FILTER_PREROUTING_PRE_DNAT = "filter-prerouting-pre-dnat";
export const FILTER_OUTPUT_PRE_DNAT = "filter-output-pre-dnat";
export const FILTER_INPUT = "filter-input";
export const FILTER_FORWARD = "filter-forward";
export const FILTER_OUTPUT = "filter-output";
export const NAT_PREROUTING = "nat-prerouting";
export const NAT_OUTPUT = "nat-output";
export const NAT_POSTROUTING = "nat-postrouting";

// Regular chains, sets and maps.
export const SERVICES = "services";
export const SERVICE_IPS = "service-ips";
export const SERVICE_NODEPORTS = "service-nodeports";
export const NODEPORT_IPS = "nodeport-ips";
export const CLUSTER_IPS = "cluster-ips";
export const SERVICE_ENDPOINTS_CHECK = "service-endpoints-check";
export const NODEPORT_ENDPOINTS_CHECK = "nodeport-endpoints-check";
export const NO_ENDPOINT_SERVICES = "no-endpoint-services";
export const NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports";
export const REJECT_CHAIN = "reject-chain";
export const CLUSTER_IPS_CHECK = "cluster-ips-check";
export const FIREWALL_IPS = "firewall-ips";
export const FIREWALL_CHECK = "firewall-check";
export const MARK_MASQ = "mark-for-masquerade";
export const MASQUERADING = "masquerading";

export const SERVICE_CHAIN_PREFIX = "service-";
export const LOCAL_CHAIN_PREFIX = "local-";
export const EXTERNAL_CHAIN_PREFIX = "external-";
export const ENDPOINT_CHAIN_PREFIX = "endpoint-";
export const AFFINITY_SET_PREFIX = "affinity-";
export const FIREWALL_CHAIN_PREFIX = "firewall-";

/** knftables.NameLengthMax (256) minus the longest prefix with its hyphen (16). */
const CHAIN_NAME_BASE_LENGTH_MAX = 256 - 16;

/** One-shot sha256 (crypto.hash, Node >= 20.12, is faster than createHash for short input). */
const sha256: (data: string) => Uint8Array =
  typeof crypto.hash === "function"
    ? (data) => crypto.hash("sha256", data, "buffer")
    : (data) => crypto.createHash("sha256").update(data).digest();

/** "HASH-name", truncated to 240 characters with a trailing "..." when longer. */
export function hashAndTruncate(name: string): string {
  let out = `${base32Prefix16(sha256(name)).slice(0, 8)}-${name}`;
  if (out.length > CHAIN_NAME_BASE_LENGTH_MAX) out = `${out.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...`;
  return out;
}

/** "HASH-ns/name/proto/portName"; protocol in lower case, portName "" for an unnamed port. */
export function servicePortChainNameBase(namespace: string, name: string, protocol: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}`);
}

/** "HASH-ns/name/proto/portName__ip/port" (IPv6 colons would become dots; we are IPv4 only). */
export function endpointChainNameBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  endpointIP: string,
  endpointPort: number,
): string {
  const ip = endpointIP.includes(":") ? endpointIP.replaceAll(":", ".") : endpointIP;
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}__${ip}/${endpointPort}`);
}

/** Chains of kube-proxy's making that belong to one service or endpoint contain a "/". */
export function isServiceChainName(chain: string): boolean {
  return chain.includes("/");
}
