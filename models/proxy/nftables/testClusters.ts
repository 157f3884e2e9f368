/**
 * Small ClusterStates for the proxy-mode tests, goldens and benchmarks: a terse builder, the
 * clusters that mirror kube-proxy's own unit tests (pkg/proxy/nftables/proxier_test.go uses
 * node "test-node" at 192.168.0.2, pod CIDR 10.0.0.0/8, Service CIDR 172.30.0.0/16), and a
 * mixed cluster for the kernel-acceptance tests. (Large clusters: models/proxy/synthetic.ts.)
 */
import type {
  ClusterState,
  EndpointSliceState,
  Protocol,
  ServiceState,
  ServiceType,
  TrafficPolicy,
} from "../../cluster/types.js";

export interface PortSpec {
  name?: string;
  protocol?: Protocol;
  port: number;
  /** The endpoints' port; `port` if absent. */
  targetPort?: number;
  nodePort?: number;
}

export interface EndpointSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface ServiceSpec {
  ns: string;
  name: string;
  type?: ServiceType;
  clusterIP: string;
  ports: PortSpec[];
  externalIPs?: string[];
  lbIngress?: string[];
  sourceRanges?: string[];
  eTP?: TrafficPolicy;
  iTP?: TrafficPolicy;
  /** ClientIP affinity with this timeout (s). */
  affinity?: number;
  endpoints?: EndpointSpec[];
}

export interface ClusterSpec {
  nodes?: Array<{ name: string; ip: string }>;
  clusterCIDR?: string;
  serviceRange?: string;
  services: ServiceSpec[];
}

export const TEST_NODE = "test-node";
export const TEST_NODE_IP = "192.168.0.2";
export const KUBE_PROXY_TEST_POD_CIDR = "10.0.0.0/8";

export function buildCluster(spec: ClusterSpec): ClusterState {
  const nodes = (spec.nodes ?? [{ name: TEST_NODE, ip: TEST_NODE_IP }]).map((n, i) => ({
    name: n.name,
    zone: "zone-a",
    ip: n.ip,
    podCIDR: `10.${i}.0.0/16`,
  }));
  const services: ServiceState[] = [];
  const endpointSlices: EndpointSliceState[] = [];
  for (const s of spec.services) {
    services.push({
      namespace: s.ns,
      name: s.name,
      type: s.type ?? "ClusterIP",
      clusterIP: s.clusterIP,
      headless: false,
      ports: s.ports.map((p) => {
        const port = { name: p.name ?? "", protocol: p.protocol ?? "TCP", port: p.port, targetPort: p.targetPort ?? p.port };
        return p.nodePort === undefined ? port : { ...port, nodePort: p.nodePort };
      }),
      selector: { app: s.name },
      externalIPs: s.externalIPs ?? [],
      loadBalancerIngress: s.lbIngress ?? [],
      loadBalancerSourceRanges: s.sourceRanges ?? [],
      externalTrafficPolicy: s.eTP ?? "Cluster",
      internalTrafficPolicy: s.iTP ?? "Cluster",
      sessionAffinity: s.affinity === undefined ? "None" : "ClientIP",
      sessionAffinityTimeoutSeconds: s.affinity ?? 10800,
      publishNotReadyAddresses: false,
    });
    if (s.endpoints === undefined) continue;
    endpointSlices.push({
      namespace: s.ns,
      name: `${s.name}-1`,
      serviceName: s.name,
      addressType: "IPv4",
      ports: s.ports.map((p) => ({ name: p.name ?? "", protocol: p.protocol ?? "TCP", port: p.targetPort ?? p.port })),
      endpoints: s.endpoints.map((e) => {
        const ready = e.ready ?? true;
        const ep = {
          address: e.ip,
          conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false },
        };
        return e.node === undefined ? ep : { ...ep, nodeName: e.node };
      }),
    });
  }
  return {
    clusterCIDR: spec.clusterCIDR ?? KUBE_PROXY_TEST_POD_CIDR,
    serviceClusterIPRange: spec.serviceRange ?? "172.30.0.0/16",
    nodes,
    services,
    endpointSlices,
  };
}

// ---- the Services of kube-proxy's TestOverallNFTablesRules (ns1/svc1 … ns6/svc6) ------------

/** ClusterIP, one (remote) endpoint. */
export const OVERALL_SVC1: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  clusterIP: "172.30.0.41",
  ports: [{ name: "p80", port: 80 }],
  endpoints: [{ ip: "10.180.0.1" }],
};

/** LoadBalancer with externalTrafficPolicy Local, an external IP, and no local endpoint. */
export const OVERALL_SVC2: ServiceSpec = {
  ns: "ns2",
  name: "svc2",
  type: "LoadBalancer",
  eTP: "Local",
  clusterIP: "172.30.0.42",
  ports: [{ name: "p80", port: 80, nodePort: 3001 }],
  lbIngress: ["1.2.3.4"],
  externalIPs: ["192.168.99.22"],
  endpoints: [{ ip: "10.180.0.2" }],
};

/** NodePort. */
export const OVERALL_SVC3: ServiceSpec = {
  ns: "ns3",
  name: "svc3",
  type: "NodePort",
  clusterIP: "172.30.0.43",
  ports: [{ name: "p80", port: 80, nodePort: 3003 }],
  endpoints: [{ ip: "10.180.0.3" }],
};

/** "NodePort" without a node port, with an external IP and two endpoints (one local). */
export const OVERALL_SVC4: ServiceSpec = {
  ns: "ns4",
  name: "svc4",
  type: "NodePort",
  clusterIP: "172.30.0.44",
  externalIPs: ["192.168.99.33"],
  ports: [{ name: "p80", port: 80 }],
  endpoints: [{ ip: "10.180.0.4" }, { ip: "10.180.0.5", node: TEST_NODE }],
};

/** LoadBalancer with source ranges and ClientIP affinity. */
export const OVERALL_SVC5: ServiceSpec = {
  ns: "ns5",
  name: "svc5",
  type: "LoadBalancer",
  eTP: "Cluster",
  clusterIP: "172.30.0.45",
  ports: [{ name: "p80", port: 80, nodePort: 3002 }],
  lbIngress: ["5.6.7.8"],
  sourceRanges: [" 203.0.113.0/25"],
  affinity: 10800,
  endpoints: [{ ip: "10.180.0.3" }],
};

/** ClusterIP without endpoints. */
export const OVERALL_SVC6: ServiceSpec = {
  ns: "ns6",
  name: "svc6",
  clusterIP: "172.30.0.46",
  ports: [{ name: "p80", port: 80 }],
};

export function overallCluster(): ClusterState {
  return buildCluster({ services: [OVERALL_SVC1, OVERALL_SVC2, OVERALL_SVC3, OVERALL_SVC4, OVERALL_SVC5, OVERALL_SVC6] });
}

/**
 * A cluster with every kind of Service, for the kernel-acceptance tests: ClusterIP (TCP, UDP,
 * SCTP, multi-port), NodePort, LoadBalancer with source ranges (one range holding the node),
 * external IPs, Local external and internal policies (with and without local endpoints), ClientIP
 * affinity, a Service without endpoints, terminating endpoints.
 */
export function mixedCluster(): ClusterState {
  return buildCluster({
    nodes: [
      { name: TEST_NODE, ip: TEST_NODE_IP },
      { name: "node-2", ip: "192.168.0.3" },
    ],
    services: [
      OVERALL_SVC1,
      OVERALL_SVC2,
      OVERALL_SVC3,
      OVERALL_SVC4,
      OVERALL_SVC5,
      OVERALL_SVC6,
      {
        ns: "kube-system",
        name: "kube-dns",
        clusterIP: "172.30.0.10",
        ports: [
          { name: "dns", protocol: "UDP", port: 53 },
          { name: "dns-tcp", protocol: "TCP", port: 53 },
          { name: "metrics", protocol: "TCP", port: 9153 },
        ],
        endpoints: [{ ip: "10.180.1.10", node: "node-2" }, { ip: "10.180.0.10", node: TEST_NODE }],
      },
      {
        ns: "default",
        name: "sctp",
        clusterIP: "172.30.0.47",
        ports: [{ protocol: "SCTP", port: 7777 }],
        endpoints: [{ ip: "10.180.1.7", node: "node-2" }],
      },
      {
        ns: "default",
        name: "web-local",
        type: "LoadBalancer",
        eTP: "Local",
        clusterIP: "172.30.0.48",
        ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30080 }],
        lbIngress: ["9.10.11.12", "9.10.11.13"],
        sourceRanges: ["192.168.0.0/16", "203.0.113.0/24"],
        affinity: 600,
        endpoints: [
          { ip: "10.180.0.21", node: TEST_NODE },
          { ip: "10.180.1.21", node: "node-2" },
          { ip: "10.180.0.22", node: TEST_NODE, ready: false, serving: true, terminating: true },
        ],
      },
      {
        ns: "default",
        name: "internal-local",
        iTP: "Local",
        clusterIP: "172.30.0.49",
        ports: [{ name: "grpc", port: 9090 }],
        endpoints: [{ ip: "10.180.1.30", node: "node-2" }],
      },
      {
        ns: "default",
        name: "terminating",
        type: "NodePort",
        clusterIP: "172.30.0.50",
        ports: [{ port: 8443, nodePort: 30443 }],
        endpoints: [{ ip: "10.180.1.40", node: "node-2", ready: false, serving: true, terminating: true }],
      },
      {
        ns: "default",
        name: "empty-lb",
        type: "LoadBalancer",
        clusterIP: "172.30.0.51",
        ports: [{ port: 443, nodePort: 30444 }],
        lbIngress: ["9.10.11.14"],
        sourceRanges: ["0.0.0.0/0"],
        externalIPs: ["192.168.99.44"],
      },
    ],
  });
}

// ---- the Services of other kube-proxy unit tests ---------------------------------------------

/** TestSyncProxyRulesStartup's ns1/svc1 once synced: a ClusterIP with two endpoints. */
export const TWO_ENDPOINTS_SVC: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  clusterIP: "172.30.0.41",
  ports: [{ name: "p80", port: 80 }],
  endpoints: [{ ip: "10.0.1.1" }, { ip: "10.0.1.2" }],
};

/** TestLoadBalancer's ns1/svc1: two LB IPs, source ranges of which one holds the node IP. */
export const LB_SOURCE_RANGES_SVC: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  type: "LoadBalancer",
  clusterIP: "172.30.0.41",
  ports: [{ name: "p80", port: 80, nodePort: 3001 }],
  lbIngress: ["1.2.3.4", "5.6.7.8"],
  sourceRanges: ["192.168.0.0/24", " 203.0.113.0/25"],
  endpoints: [{ ip: "10.180.0.1" }],
};

/** TestExternalTrafficPolicyLocal's ns1/svc1: eTP Local with one local and one remote endpoint. */
export const ETP_LOCAL_SVC: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  type: "LoadBalancer",
  eTP: "Local",
  clusterIP: "172.30.0.41",
  externalIPs: ["192.168.99.11"],
  ports: [{ name: "p80", port: 80, nodePort: 3001 }],
  lbIngress: ["1.2.3.4"],
  endpoints: [{ ip: "10.180.0.1" }, { ip: "10.180.2.1", node: TEST_NODE }],
};

/** TestNoEndpointsReject's ns1/svc1: a LoadBalancer with an external IP and no endpoints. */
export const NO_ENDPOINTS_LB_SVC: ServiceSpec = {
  ns: "ns1",
  name: "svc1",
  type: "LoadBalancer",
  clusterIP: "172.30.0.41",
  externalIPs: ["192.168.99.11"],
  ports: [{ name: "p80", port: 80, nodePort: 3001 }],
  lbIngress: ["1.2.3.4"],
};

/** TestInternalExternalMasquerade's three LoadBalancers (Cluster, eTP Local, iTP Local). */
export function internalExternalMasqueradeCluster(): ClusterState {
  const lb = (n: number, extra: Partial<ServiceSpec>): ServiceSpec => ({
    ns: `ns${n}`,
    name: `svc${n}`,
    type: "LoadBalancer",
    clusterIP: `172.30.0.4${n}`,
    ports: [{ name: "p80", port: 80, nodePort: 3000 + n }],
    endpoints: [{ ip: `10.180.0.${n}`, node: TEST_NODE }, { ip: `10.180.1.${n}`, node: "remote" }],
    ...extra,
  });
  return buildCluster({
    services: [
      lb(1, { lbIngress: ["1.2.3.4"] }),
      lb(2, { lbIngress: ["5.6.7.8"], eTP: "Local" }),
      lb(3, { lbIngress: ["9.10.11.12"], iTP: "Local" }),
    ],
  });
}
