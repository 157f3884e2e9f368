/**
 * What resolveCluster produces: the contract ClusterState (types.ts) plus what later layers
 * need beyond it — pods with their template (probes, preStop, grace period, service time),
 * Services' metadata and creation times (for env vars), the control plane's delays as data,
 * and the allocators, so that a dynamic simulation can create pods as the controllers would.
 */
import type { ClusterSpec, DeploymentObject, ObjectOrigin, PodSpecTemplate } from "../scenario/types.js";
import type { PodIPAllocator } from "./allocators.js";
import type { ClusterState, NodeState, ServiceState } from "./types.js";

export interface ResolvedNode extends NodeState {
  /** kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch, topology.kubernetes.io/zone, and the scenario's. */
  labels: Record<string, string>;
  /** The kubelet's --max-pods, capped by the podCIDR's size. */
  maxPods: number;
}

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed";

export interface PodOwner {
  deployment: string;
  replicaSet: string;
  /** The pod-template-hash label. */
  templateHash: string;
}

export interface PodState {
  namespace: string;
  name: string;
  uid: string;
  /** The template's labels plus pod-template-hash. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** null while unscheduled (Pending). */
  nodeName: string | null;
  /** The pod IP (the node IP with hostNetwork); null until the pod has one. */
  ip: string | null;
  hostIP: string | null;
  owner: PodOwner | null;
  phase: PodPhase;
  /** The Ready condition (readiness probes passing). */
  ready: boolean;
  /** Deleted (deletionTimestamp set) but not gone yet. */
  terminating: boolean;
  /** When the pod's containers started, on the cluster clock (ms since the epoch). */
  startedAtMs: number;
  /** The pod spec as the template gave it (shared with the Deployment, never mutated). */
  spec: PodSpecTemplate;
}

export interface ResolvedService {
  /** The same object as in `state.services`. */
  state: ServiceState;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Creation time on the cluster clock (ms since the epoch). */
  createdAtMs: number;
  /** True for the Services svcsim adds (kubernetes, kube-dns) when the scenario has none. */
  system: boolean;
  origin?: ObjectOrigin;
}

export interface ResolvedDeployment {
  spec: DeploymentObject;
  uid: string;
  replicaSetName: string;
  templateHash: string;
  createdAtMs: number;
  system: boolean;
}

export interface ResolvedSliceInfo {
  /** endpointslice.kubernetes.io/managed-by, or null for a hand-written slice. */
  managedBy: string | null;
  labels: Record<string, string>;
  system: boolean;
}

export interface ResolvedCluster {
  name: string;
  /** The Cluster spec: kube-proxy settings, link latencies, DNS and control-plane delays (as data). */
  config: ClusterSpec;
  state: ClusterState;
  /** The same nodes as `state.nodes`, with labels. */
  nodes: ResolvedNode[];
  pods: PodState[];
  /** Parallel to `state.services`. */
  services: ResolvedService[];
  deployments: ResolvedDeployment[];
  /** Keyed "namespace/name" of each EndpointSlice in `state.endpointSlices`. */
  sliceInfo: Map<string, ResolvedSliceInfo>;
  /** The cluster DNS: the kube-dns Service's address and the resolver's settings. */
  dns: { namespace: string; serviceName: string; clusterIP: string | null; clusterDomain: string; ndots: number };
  /** The API server behind the `kubernetes` Service. */
  apiServer: { ip: string; port: number };
  /** The time the scenario's objects without a creationTimestamp are created (ms since the epoch). */
  applyTimeMs: number;
  /** Pod IP allocation state, for pods created later (rollouts, scaling). */
  podIPs: PodIPAllocator;
  warnings: string[];
}
