/**
 * Synthetic clusters for benchmarks and scaling studies of the proxy modes: N Services with M
 * ready endpoints each, spread over the nodes, every address allocated deterministically (no
 * randomness, so two calls give the same state and every mode sees the same cluster).
 *
 * Addresses: nodes 192.168.0.1 up (node-1, node-2, ...); cluster IPs 10.96.0.10 up in
 * 10.96.0.0/12; pod IPs in 10.128.0.0/9, each node holding a power-of-two share as its podCIDR;
 * LoadBalancer ingress IPs 100.64.0.1 up; NodePorts 30000 up.
 * Each Service "svc-i" lives in namespace "ns-(i mod namespaces)" with one port "http" 80/TCP to
 * 8080; its endpoints are pods on nodes round-robin (endpoint k of the whole cluster on node
 * k mod nodes), in EndpointSlices of at most 100 endpoints as the EndpointSlice controller cuts
 * them.
 */
import type {
  ClusterState,
  EndpointSliceState,
  EndpointState,
  NodeState,
  ServiceState,
  ServiceType,
  TrafficPolicy,
} from "../cluster/types.js";

export interface SyntheticClusterOptions {
  services: number;
  endpointsPerService: number;
  /** Default 3. */
  nodes?: number;
  /** Namespaces the Services are spread over (default 10). */
  namespaces?: number;
  /** Every Service's type (default ClusterIP). NodePort and LoadBalancer allow at most 2768 Services. */
  type?: Exclude<ServiceType, "ExternalName">;
  /** externalTrafficPolicy for NodePort and LoadBalancer Services (default Cluster). */
  externalTrafficPolicy?: TrafficPolicy;
}

export const SYNTHETIC_CLUSTER_CIDR = "10.128.0.0/9";
export const SYNTHETIC_SERVICE_RANGE = "10.96.0.0/12";
const MAX_ENDPOINTS_PER_SLICE = 100;
const NODE_PORT_BASE = 30000;
const NODE_PORTS = 32768 - NODE_PORT_BASE;

function dotted(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function syntheticCluster(options: SyntheticClusterOptions): ClusterState {
  const nServices = options.services;
  const perService = options.endpointsPerService;
  const nNodes = Math.max(1, options.nodes ?? 3);
  const nNamespaces = Math.max(1, options.namespaces ?? 10);
  const type = options.type ?? "ClusterIP";
  const etp = options.externalTrafficPolicy ?? "Cluster";
  if (!Number.isInteger(nServices) || nServices < 0 || !Number.isInteger(perService) || perService < 0) {
    throw new RangeError("syntheticCluster: services and endpointsPerService must be non-negative integers");
  }
  if (nServices > (1 << 20) - 20) throw new RangeError("syntheticCluster: at most ~1M Services fit 10.96.0.0/12");
  if (type !== "ClusterIP" && nServices > NODE_PORTS) {
    throw new RangeError(`syntheticCluster: ${type} Services need a NodePort each; at most ${NODE_PORTS} fit 30000-32767`);
  }
  let share = 1;
  let shareBits = 0;
  while (share < nNodes) {
    share *= 2;
    shareBits++;
  }
  const block = 2 ** (23 - shareBits);
  const podsPerNode = Math.ceil((nServices * perService) / nNodes);
  if (podsPerNode > block - 2) throw new RangeError("syntheticCluster: too many pods per node for 10.128.0.0/9");
  const podBase = 10 * 2 ** 24 + 128 * 2 ** 16;

  const nodes: NodeState[] = [];
  for (let k = 0; k < nNodes; k++) {
    nodes.push({
      name: `node-${k + 1}`,
      zone: `zone-${String.fromCharCode(97 + (k % 3))}`,
      ip: dotted(192 * 2 ** 24 + 168 * 2 ** 16 + k + 1),
      podCIDR: `${dotted(podBase + k * block)}/${9 + shareBits}`,
    });
  }

  const services: ServiceState[] = [];
  const endpointSlices: EndpointSliceState[] = [];
  let pod = 0;
  for (let s = 0; s < nServices; s++) {
    const namespace = `ns-${s % nNamespaces}`;
    const name = `svc-${s}`;
    const external = type !== "ClusterIP";
    services.push({
      namespace,
      name,
      type,
      clusterIP: dotted(10 * 2 ** 24 + 96 * 2 ** 16 + 10 + s),
      headless: false,
      ports: [
        external
          ? { name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: NODE_PORT_BASE + s }
          : { name: "http", protocol: "TCP", port: 80, targetPort: 8080 },
      ],
      selector: { app: name },
      externalIPs: [],
      loadBalancerIngress: type === "LoadBalancer" ? [dotted(100 * 2 ** 24 + 64 * 2 ** 16 + 1 + s)] : [],
      loadBalancerSourceRanges: [],
      externalTrafficPolicy: external ? etp : "Cluster",
      internalTrafficPolicy: "Cluster",
      ...(type === "LoadBalancer" && etp === "Local" ? { healthCheckNodePort: NODE_PORT_BASE + NODE_PORTS - 1 - s } : {}),
      sessionAffinity: "None",
      sessionAffinityTimeoutSeconds: 10800,
      publishNotReadyAddresses: false,
    });
    let endpoints: EndpointState[] = [];
    let slice = 0;
    const flush = () => {
      endpointSlices.push({
        namespace,
        name: `${name}-${slice++}`,
        serviceName: name,
        addressType: "IPv4",
        ports: [{ name: "http", protocol: "TCP", port: 8080 }],
        endpoints,
      });
      endpoints = [];
    };
    for (let e = 0; e < perService; e++, pod++) {
      const k = pod % nNodes;
      const slot = Math.floor(pod / nNodes) + 2;
      const node = nodes[k];
      endpoints.push({
        address: dotted(podBase + k * block + slot),
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: node.name,
        zone: node.zone,
        targetRef: { kind: "Pod", namespace, name: `${name}-${e}` },
      });
      if (endpoints.length === MAX_ENDPOINTS_PER_SLICE) flush();
    }
    if (endpoints.length > 0 || slice === 0) flush();
  }

  return {
    clusterCIDR: SYNTHETIC_CLUSTER_CIDR,
    serviceClusterIPRange: SYNTHETIC_SERVICE_RANGE,
    nodes,
    services,
    endpointSlices,
  };
}
