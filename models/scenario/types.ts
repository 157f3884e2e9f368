/**
 * A scenario as read from its YAML stream: the Kubernetes objects it declares (validated, with
 * Kubernetes' defaults filled) and svcsim's own kinds (Cluster, Workload, Churn, Run), with
 * svcsim's defaults filled. Nothing here is allocated or placed yet: that is the cluster
 * model's job (models/cluster/resolve.ts).
 *
 * Durations are integer nanoseconds. Distributions and arrival processes are kept as their
 * validated text (e.g. "lognormal(mean=2ms,cv=1.5)"): consumers turn them into samplers with
 * sim/distributions.ts, so this layer does not fix their runtime representation.
 */
import type { Protocol, ServiceType, SessionAffinity, TrafficPolicy } from "../cluster/types.js";
import type { Nanos } from "../../sim/time.js";

export type { Nanos };

/** A distribution's text, validated by sim/distributions' parseDistribution. */
export type DistributionText = string;
/** An arrival process's text (`poisson(500/s)`), validated by parseArrival. */
export type ArrivalText = string;

/** Where an object came from, so that later stages (allocation, resolution) can name it. */
export interface ObjectOrigin {
  file: string;
  /** e.g. "document 3 (Service/web)" or "document 1 (List item 4: Service/kube-dns)" */
  document: string;
  /** Field path prefix of the object inside its document: "" or "items[3]". */
  pathPrefix: string;
  /** 1-based line of the object's start in the file, when known. */
  line?: number;
}

export interface ObjectMeta {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** metadata.creationTimestamp as milliseconds since the epoch, when given. */
  creationTimestampMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Services, EndpointSlices, Endpoints

export interface ServicePortSpec {
  /** "" when unnamed (allowed only for a single port). */
  name: string;
  protocol: Protocol;
  appProtocol?: string;
  port: number;
  /** A number, or the name of a container port; defaults to `port`. */
  targetPort: number | string;
  /** As written (explicit request); allocation happens in the cluster model. */
  nodePort?: number;
}

export interface ServiceObject {
  kind: "Service";
  metadata: ObjectMeta;
  origin: ObjectOrigin;
  type: ServiceType;
  /**
   * As written: undefined or "" = allocate; "None" = headless; else a requested address.
   * Always undefined for ExternalName.
   */
  clusterIP?: string;
  headless: boolean;
  /** null without a selector (endpoints written by hand). */
  selector: Record<string, string> | null;
  ports: ServicePortSpec[];
  externalName?: string;
  externalIPs: string[];
  /** spec.loadBalancerIP (deprecated in Kubernetes, still honoured). */
  loadBalancerIP?: string;
  loadBalancerSourceRanges: string[];
  /** status.loadBalancer.ingress[].ip as found in the input (e.g. from a kubectl List). */
  loadBalancerIngress: string[];
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  healthCheckNodePort?: number;
  allocateLoadBalancerNodePorts: boolean;
  sessionAffinity: SessionAffinity;
  sessionAffinityTimeoutSeconds: number;
  publishNotReadyAddresses: boolean;
}

export interface EndpointSliceEndpointSpec {
  addresses: string[];
  /** Kubernetes' semantics: ready unset means ready; serving unset means = ready. */
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  zone?: string;
  hostname?: string;
  targetRef?: { kind: string; namespace?: string; name: string };
}

export interface EndpointSliceObject {
  kind: "EndpointSlice";
  metadata: ObjectMeta;
  origin: ObjectOrigin;
  /** The kubernetes.io/service-name label. */
  serviceName: string;
  /** The endpointslice.kubernetes.io/managed-by label, if any. */
  managedBy?: string;
  addressType: "IPv4";
  /** A port without a number means "all ports" in Kubernetes; svcsim requires numbers. */
  ports: { name: string; protocol: Protocol; port: number; appProtocol?: string }[];
  endpoints: EndpointSliceEndpointSpec[];
}

export interface EndpointsAddressSpec {
  ip: string;
  nodeName?: string;
  hostname?: string;
  targetRef?: { kind: string; namespace?: string; name: string };
}

export interface EndpointsObject {
  kind: "Endpoints";
  metadata: ObjectMeta;
  origin: ObjectOrigin;
  subsets: {
    addresses: EndpointsAddressSpec[];
    notReadyAddresses: EndpointsAddressSpec[];
    ports: { name: string; protocol: Protocol; port: number }[];
  }[];
}

// ---------------------------------------------------------------------------------------------
// Deployments and their pod template

export interface ContainerPortSpec {
  name?: string;
  containerPort: number;
  protocol: Protocol;
  hostPort?: number;
}

export interface EnvVarSpec {
  name: string;
  /** undefined when the variable comes from valueFrom (not modelled). */
  value?: string;
}

export type ProbeHandler =
  | { type: "httpGet"; path: string; port: number | string; scheme: "HTTP" | "HTTPS" }
  | { type: "tcpSocket"; port: number | string }
  | { type: "grpc"; port: number }
  | { type: "exec"; command: string[] };

export interface ProbeSpec {
  handler: ProbeHandler;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface PreStopSpec {
  /** What the hook is. */
  type: "sleep" | "exec" | "httpGet" | "tcpSocket";
  /**
   * How long the hook delays termination, when svcsim can tell: `sleep.seconds`, or an exec
   * command `sleep N` (also `sh -c "sleep N"`). Otherwise 0.
   */
  sleepSeconds: number;
  command?: string[];
}

export interface ContainerSpec {
  name: string;
  image?: string;
  ports: ContainerPortSpec[];
  env: EnvVarSpec[];
  readinessProbe?: ProbeSpec;
  livenessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
  preStop?: PreStopSpec;
}

export type DnsPolicy = "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None";

export interface PodSpecTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  containers: ContainerSpec[];
  nodeName?: string;
  nodeSelector: Record<string, string>;
  terminationGracePeriodSeconds: number;
  enableServiceLinks: boolean;
  hostNetwork: boolean;
  dnsPolicy: DnsPolicy;
  /** spec.dnsConfig.options ndots, when set. */
  dnsNdots?: number;
  /** spec.dnsConfig.searches, when set. */
  dnsSearches: string[];
  hostname?: string;
  subdomain?: string;
  /** svcsim.dev/service-time annotation. */
  serviceTime?: DistributionText;
  /** svcsim.dev/concurrency annotation (requests served at once per pod); 1 by default. */
  concurrency: number;
}

/** An int-or-percent field ("25%" or 1). */
export type IntOrPercent = number | `${number}%`;

export interface DeploymentObject {
  kind: "Deployment";
  metadata: ObjectMeta;
  origin: ObjectOrigin;
  replicas: number;
  selector: LabelSelector;
  template: PodSpecTemplate;
  strategy:
    | { type: "RollingUpdate"; maxSurge: IntOrPercent; maxUnavailable: IntOrPercent }
    | { type: "Recreate" };
  minReadySeconds: number;
  progressDeadlineSeconds: number;
  revisionHistoryLimit: number;
  paused: boolean;
}

export type LabelSelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values: string[];
}

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
}

export type KubernetesObject = ServiceObject | DeploymentObject | EndpointSliceObject | EndpointsObject;

// ---------------------------------------------------------------------------------------------
// svcsim's kinds

export interface NodeSpec {
  name: string;
  /** topology.kubernetes.io/zone */
  zone: string;
  /** Extra labels; kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch and the zone label are added. */
  labels: Record<string, string>;
  /** InternalIP, when given; otherwise assigned from nodeCIDR. */
  ip?: string;
}

export type ProxyModeName = "iptables" | "ipvs" | "nftables";
export type IpvsScheduler = "rr" | "lc" | "dh" | "sh" | "sed" | "nq";

export interface ConntrackSpec {
  /** --conntrack-max-per-core */
  maxPerCore: number;
  /** --conntrack-min */
  min: number;
  /** Cores per node, to turn maxPerCore into nf_conntrack_max. */
  coresPerNode: number;
  tcpEstablishedTimeout: Nanos;
  tcpCloseWaitTimeout: Nanos;
  tcpTimeWaitTimeout: Nanos;
  udpTimeout: Nanos;
  udpStreamTimeout: Nanos;
}

export interface KubeProxySpec {
  mode: ProxyModeName;
  minSyncPeriod: Nanos;
  syncPeriod: Nanos;
  ipvsScheduler: IpvsScheduler;
  /** --masquerade-all */
  masqueradeAll: boolean;
  conntrack: ConntrackSpec;
}

export interface NetworkSpec {
  /** One-way latency between two pods (or a pod and the host) on the same node. */
  sameNode: DistributionText;
  /** Between two nodes of one zone. */
  nodeToNode: DistributionText;
  /** Between nodes of different zones. */
  zoneToZone: DistributionText;
  /** From an external client to the cloud load balancer. */
  internetToLB: DistributionText;
  /** From the load balancer to a node. */
  lbToNode: DistributionText;
  /** From an external client straight to a node (NodePort, externalIPs). */
  externalToNode: DistributionText;
}

export interface DnsSpec {
  /** CoreDNS' time to answer one query (at the server, excluding the network). */
  queryLatency: DistributionText;
  /** TTL of answers about cluster names (CoreDNS kubernetes plugin `ttl`). */
  ttl: Nanos;
  /** CoreDNS cache plugin's maximum TTL for cached answers. */
  cacheTTL: Nanos;
  /** The pod resolver's ndots option. */
  ndots: number;
  clusterDomain: string;
  /** Replicas of the coredns Deployment svcsim adds when the scenario defines none. */
  replicas: number;
}

export interface ControlPlaneSpec {
  /** From a pod's change (ready, deleted, created) to the EndpointSlice being updated. */
  podToSlice: DistributionText;
  /** From an EndpointSlice (or Service) update to one node's kube-proxy seeing it. */
  sliceToNode: DistributionText;
  /** From a pod's creation to its containers running (scheduling, image pull, start). */
  podStartup: DistributionText;
}

export interface ClusterSpec {
  /** Where the Cluster came from (absent when the scenario had no Cluster document). */
  origin?: ObjectOrigin;
  nodes: NodeSpec[];
  /** True when `nodes` was written as a count. */
  nodesFromCount: boolean;
  clusterCIDR: string;
  /** Prefix length of each node's podCIDR (kube-controller-manager --node-cidr-mask-size). */
  nodeCIDRMaskSize: number;
  serviceClusterIPRange: string;
  serviceNodePortRange: { min: number; max: number };
  /** Where node InternalIPs come from; chosen to avoid the other ranges when not given. */
  nodeCIDR?: string;
  /** The fake cloud's pool for LoadBalancer ingress IPs (TEST-NET-3 by default). */
  loadBalancerCIDR: string;
  /** The kubelet's --max-pods. */
  maxPodsPerNode: number;
  kubeProxy: KubeProxySpec;
  network: NetworkSpec;
  dns: DnsSpec;
  controlPlane: ControlPlaneSpec;
}

export type ClientTarget =
  /** A DNS name as written (`web`, `web.default`, `db.example.com`, trailing dot kept). */
  | { kind: "dns"; name: string; port: number; text: string }
  | { kind: "address"; ip: string; port: number; text: string }
  /** A node's address and a (NodePort) port. */
  | { kind: "nodePort"; node: string; port: number; text: string }
  | { kind: "loadBalancer"; service: string; namespace: string; port: number; text: string };

export type ClientFrom = { kind: "node"; node: string } | { kind: "external" };

export type ConnectionMode = "new" | "keepalive" | "http2";

export interface ClientSpec {
  name: string;
  namespace: string;
  from: ClientFrom;
  target: ClientTarget;
  /** Open loop: the arrival process. Exactly one of arrival and closedLoop is set. */
  arrival?: ArrivalText;
  closedLoop?: { users: number; thinkTime: DistributionText };
  connection: ConnectionMode;
  keepalive: {
    /** Connections kept per client (pool size). */
    maxConnections: number;
    idleTimeout: Nanos;
    /** 0 = unlimited. */
    maxRequestsPerConnection: number;
  };
  /** Per request; a request not answered by then counts as an error. */
  timeout: Nanos;
  retries: number;
  /** Retries stay below this fraction of the client's requests, plus 10; unset: no budget. */
  retryBudget?: number;
  /** The client pod's resolver ndots (the cluster's dns.ndots by default). */
  ndots: number;
  /** Client-side DNS cache: none (glibc), the answers' TTL, or a fixed time (ns). */
  dnsCache: "none" | "ttl" | Nanos;
}

export interface WorkloadSpec {
  clients: ClientSpec[];
}

export type ChurnAction =
  | { type: "rollout"; deployment: string; namespace: string }
  | { type: "kill"; deployment: string; namespace: string; count?: number; fraction?: number }
  | { type: "scale"; deployment: string; namespace: string; replicas: number }
  | { type: "failNode"; node: string }
  /** Pods crash `runFor` after each start and restart after the kubelet's back-off (CrashLoopBackOff). */
  | { type: "crashLoop"; deployment: string; namespace: string; count?: number; fraction?: number; runFor: Nanos };

export interface ChurnEvent {
  at: Nanos;
  action: ChurnAction;
  /** Repeat every so often until the run ends. */
  every?: Nanos;
  origin: ObjectOrigin;
  /** Field path of the event inside its document ("spec.events[2]"). */
  path: string;
}

export interface RunSpec {
  duration: Nanos;
  warmup: Nanos;
  seed: number;
  replications: number;
}

export interface Scenario {
  /** The file's basename without extension, or the Run's metadata.name. */
  name: string;
  file: string;
  cluster: ClusterSpec;
  /** Kubernetes objects in document order (List items in place). */
  services: ServiceObject[];
  deployments: DeploymentObject[];
  /**
   * EndpointSlices that svcsim keeps as written: hand-written ones, and those of other
   * managers. Slices of the endpointslice controller (managed-by
   * endpointslice-controller.k8s.io) are dropped: resolveCluster regenerates them.
   */
  endpointSlices: EndpointSliceObject[];
  endpoints: EndpointsObject[];
  workload: WorkloadSpec;
  churn: ChurnEvent[];
  run: RunSpec;
  /** Things skipped or adjusted, one sentence each (unknown kinds, ignored slices...). */
  warnings: string[];
}
