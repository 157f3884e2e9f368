/** The Kubernetes control plane's decisions: see resolve.ts (entry point) and resolved.ts (its result). */
export { resolveCluster, DEFAULT_APPLY_TIME_MS } from "./resolve.js";
export { describeList, type DescribeOptions } from "./describe.js";
export {
  endpointSlicesForService,
  endpointConditions,
  podIsEndpointCandidate,
  podsSelectedBy,
  PodIndex,
  resolveTargetPort,
  sliceFromObject,
  slicesFromEndpoints,
  MAX_ENDPOINTS_PER_SLICE,
  type SliceOptions,
} from "./endpointSlices.js";
export { matchesLabelSelector, matchesServiceSelector, matchesRequirement, formatLabelSelector } from "./selectors.js";
export { ServiceIPAllocator, NodePortAllocator, LoadBalancerIPAllocator, PodIPAllocator, NodePodIPAM } from "./allocators.js";
export { PodFactory, replicaSetOf, POD_TEMPLATE_HASH_LABEL } from "./pods.js";
export type * from "./resolved.js";
export type * from "./types.js";
