/**
 * The resolved cluster state: what the control plane has decided (allocated IPs and ports,
 * pods placed on nodes, EndpointSlices written). This is the contract between the Kubernetes
 * model (which produces it) and kube-proxy's modes (which compile it per node).
 *
 * Shapes follow the Kubernetes API closely, but every default is filled and every allocation
 * done, so consumers never have to guess.
 */

export type Protocol = "TCP" | "UDP" | "SCTP";
export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
export type TrafficPolicy = "Cluster" | "Local";
export type SessionAffinity = "None" | "ClientIP";

export interface NodeState {
  name: string;
  zone: string;
  /** The node's InternalIP, dotted quad. */
  ip: string;
  /** The range pod IPs on this node come from (a slice of clusterCIDR). */
  podCIDR: string;
}

export interface ServicePortState {
  /** Port name; "" for a single unnamed port. */
  name: string;
  protocol: Protocol;
  port: number;
  /** A number, or the name of a container port. */
  targetPort: number | string;
  /** Allocated for NodePort and LoadBalancer Services (unless allocateLoadBalancerNodePorts is false). */
  nodePort?: number;
}

export interface ServiceState {
  namespace: string;
  name: string;
  type: ServiceType;
  /** The virtual IP, or null for headless (`clusterIP: None`) and ExternalName Services. */
  clusterIP: string | null;
  headless: boolean;
  ports: ServicePortState[];
  /** null for a Service without a selector (endpoints written by hand). */
  selector: Record<string, string> | null;
  externalName?: string;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIngress: string[];
  loadBalancerSourceRanges: string[];
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** Allocated for LoadBalancer Services with externalTrafficPolicy Local. */
  healthCheckNodePort?: number;
  sessionAffinity: SessionAffinity;
  /** sessionAffinityConfig.clientIP.timeoutSeconds; 10800 by default. */
  sessionAffinityTimeoutSeconds: number;
  publishNotReadyAddresses: boolean;
}

export interface EndpointConditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface EndpointState {
  /** One address (IPv4 dotted quad). */
  address: string;
  conditions: EndpointConditions;
  nodeName?: string;
  zone?: string;
  /** The pod behind the endpoint, if any: namespace/name. */
  targetRef?: { kind: "Pod"; namespace: string; name: string };
}

export interface EndpointSlicePort {
  /** Matches ServicePortState.name. */
  name: string;
  protocol: Protocol;
  port: number;
}

export interface EndpointSliceState {
  namespace: string;
  name: string;
  /** The kubernetes.io/service-name label. */
  serviceName: string;
  addressType: "IPv4";
  ports: EndpointSlicePort[];
  endpoints: EndpointState[];
}

export interface ClusterState {
  clusterCIDR: string;
  serviceClusterIPRange: string;
  nodes: NodeState[];
  services: ServiceState[];
  endpointSlices: EndpointSliceState[];
}
