/**
 * Small builders of ClusterState for the iptables tests (and anyone mirroring kube-proxy's unit
 * tests): kube-proxy's test conventions are node "test-node" at 192.168.0.2, pod CIDR 10.0.0.0/8,
 * cluster IPs in 172.30.0.0/16.
 */
import type {
  ClusterState,
  EndpointConditions,
  EndpointSliceState,
  Protocol,
  ServicePortState,
  ServiceState,
} from "../../cluster/types.js";

export const TEST_NODE_NAME = "test-node";
export const TEST_NODE_IP = "192.168.0.2";

export function testService(namespace: string, name: string, spec: Partial<ServiceState>): ServiceState {
  return {
    namespace,
    name,
    type: "ClusterIP",
    clusterIP: null,
    headless: false,
    ports: [],
    selector: {},
    externalIPs: [],
    loadBalancerIngress: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: "Cluster",
    internalTrafficPolicy: "Cluster",
    sessionAffinity: "None",
    sessionAffinityTimeoutSeconds: 10800,
    publishNotReadyAddresses: false,
    ...spec,
  };
}

export function tcpPort(name: string, port: number, nodePort?: number): ServicePortState {
  const p: ServicePortState = { name, protocol: "TCP", port, targetPort: port };
  if (nodePort !== undefined) p.nodePort = nodePort;
  return p;
}

export interface TestEndpoint {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function testSlice(
  namespace: string,
  serviceName: string,
  endpoints: TestEndpoint[],
  ports: { name: string; port: number; protocol?: Protocol }[],
  sliceName = `${serviceName}-1`,
): EndpointSliceState {
  return {
    namespace,
    name: sliceName,
    serviceName,
    addressType: "IPv4",
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? "TCP" })),
    endpoints: endpoints.map((e) => {
      const ready = e.ready ?? true;
      const conditions: EndpointConditions = {
        ready,
        serving: e.serving ?? ready,
        terminating: e.terminating ?? false,
      };
      return e.node === undefined ? { address: e.ip, conditions } : { address: e.ip, conditions, nodeName: e.node };
    }),
  };
}

export function testCluster(services: ServiceState[], endpointSlices: EndpointSliceState[]): ClusterState {
  return {
    clusterCIDR: "10.0.0.0/8",
    serviceClusterIPRange: "172.30.0.0/16",
    nodes: [
      { name: TEST_NODE_NAME, zone: "zone-a", ip: TEST_NODE_IP, podCIDR: "10.0.0.0/24" },
      { name: "node2", zone: "zone-a", ip: "192.168.0.3", podCIDR: "10.0.1.0/24" },
    ],
    services,
    endpointSlices,
  };
}

/** Replays `values` in order, cycling; counts the draws (two copies of one sequence). */
export class ReplayRandom {
  draws = 0;
  constructor(private readonly values: readonly number[]) {}
  next(): number {
    const v = this.values.length === 0 ? 0.5 : this.values[this.draws % this.values.length];
    this.draws++;
    return v;
  }
}

/** A small deterministic generator (for benchmarks and examples; not for statistics). */
export class LcgRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    // Numerical Recipes LCG; the top 24 bits as the fraction.
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
    return (this.state >>> 8) / 16777216;
  }
}
