/**
 * Nodes: their InternalIPs (from a node network that overlaps none of the cluster's ranges,
 * like kind's 172.18.0.0/16), their podCIDRs (successive /24s of clusterCIDR, as the node IPAM
 * controller hands them out), and the well-known labels the scheduler and kube-proxy read.
 */
import { originError } from "../scenario/context.js";
import type { ClusterSpec, ObjectOrigin } from "../scenario/types.js";
import { cidrContains, formatIPv4, parseIPv4, tryParseCidr } from "../network/ip.js";
import type { Cidr } from "../network/ip.js";
import type { ResolvedNode } from "./resolved.js";

export const NODE_NETWORK_CANDIDATES = ["172.18.0.0/16", "192.168.0.0/16", "172.31.0.0/16", "10.0.0.0/16", "100.64.0.0/16"];

export const LABEL_HOSTNAME = "kubernetes.io/hostname";
export const LABEL_OS = "kubernetes.io/os";
export const LABEL_ARCH = "kubernetes.io/arch";
export const LABEL_ZONE = "topology.kubernetes.io/zone";

function overlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b.base) || cidrContains(b, a.base);
}

export interface BuiltNodes {
  nodes: ResolvedNode[];
  nodeCIDR: string;
  /** The control plane's address (API server), outside the worker nodes. */
  apiServerIP: string;
}

export function buildNodes(cluster: ClusterSpec, clusterOrigin: ObjectOrigin): BuiltNodes {
  const taken = [cluster.clusterCIDR, cluster.serviceClusterIPRange, cluster.loadBalancerCIDR].map((t) => tryParseCidr(t)).filter((c): c is Cidr => c !== null);
  let network: Cidr | null = null;
  if (cluster.nodeCIDR !== undefined) network = tryParseCidr(cluster.nodeCIDR);
  else {
    for (const cand of NODE_NETWORK_CANDIDATES) {
      const c = tryParseCidr(cand);
      if (c && !taken.some((t) => overlaps(t, c))) {
        network = c;
        break;
      }
    }
  }
  if (network === null) {
    throw originError(clusterOrigin, "spec.nodeCIDR", "no private range left for node addresses", "a nodeCIDR not overlapping clusterCIDR, serviceClusterIPRange and loadBalancerCIDR");
  }
  const explicit = new Set(cluster.nodes.filter((n) => n.ip !== undefined).map((n) => parseIPv4(n.ip as string)));
  const apiServer = network.base + 2;
  let next = network.base + 3;
  const last = network.base + network.size - 2;

  const podNet = tryParseCidr(cluster.clusterCIDR);
  if (podNet === null) throw originError(clusterOrigin, "spec.clusterCIDR", "invalid value", "an IPv4 CIDR", cluster.clusterCIDR);
  const subnetSize = 2 ** (32 - cluster.nodeCIDRMaskSize);
  const subnets = podNet.size / subnetSize;
  if (cluster.nodes.length > subnets) {
    throw originError(
      clusterOrigin,
      "spec.nodes",
      `clusterCIDR ${cluster.clusterCIDR} has room for ${subnets} node podCIDRs of /${cluster.nodeCIDRMaskSize}`,
      `at most ${subnets} nodes, or a larger clusterCIDR`,
      cluster.nodes.length,
    );
  }

  const nodes = cluster.nodes.map((spec, i) => {
    let ip: number;
    if (spec.ip !== undefined) {
      ip = parseIPv4(spec.ip);
      for (const t of taken) {
        if (cidrContains(t, ip)) {
          throw originError(clusterOrigin, `spec.nodes[${i}].ip`, `the node IP lies in ${t.text}`, "an address outside clusterCIDR, serviceClusterIPRange and loadBalancerCIDR", spec.ip);
        }
      }
    } else {
      while (explicit.has(next) || next === apiServer) next++;
      if (next > last) {
        throw originError(clusterOrigin, "spec.nodeCIDR", `nodeCIDR ${network.text} has no address left for node ${spec.name}`, "a larger nodeCIDR", network.text);
      }
      ip = next++;
    }
    const podCIDR = `${formatIPv4(podNet.base + i * subnetSize)}/${cluster.nodeCIDRMaskSize}`;
    const node: ResolvedNode = {
      name: spec.name,
      zone: spec.zone,
      ip: formatIPv4(ip),
      podCIDR,
      labels: {
        [LABEL_ARCH]: "amd64",
        [LABEL_OS]: "linux",
        ...spec.labels,
        [LABEL_HOSTNAME]: spec.name,
        [LABEL_ZONE]: spec.zone,
      },
      // host-local skips the network, gateway and broadcast addresses.
      maxPods: Math.max(0, Math.min(cluster.maxPodsPerNode, subnetSize - 3)),
    };
    return node;
  });
  return { nodes, nodeCIDR: network.text, apiServerIP: formatIPv4(apiServer) };
}
