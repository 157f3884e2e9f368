/**
 * The EndpointSlice controller, as pure functions a dynamic simulation can call again after
 * every pod change: which pods back a Service, with which conditions and ports, in slices of at
 * most 100 endpoints (kube-controller-manager's --max-endpoints-per-slice default).
 *
 * Also the slices of Services without a selector: hand-written EndpointSlices as they are, and
 * `v1 Endpoints` converted the way the EndpointSlice mirroring controller does.
 */
import type { EndpointSliceObject, EndpointsAddressSpec, EndpointsObject } from "../scenario/types.js";
import { nameSuffix } from "./names.js";
import type { PodState } from "./resolved.js";
import { matchesServiceSelector } from "./selectors.js";
import type {
  EndpointConditions,
  EndpointSlicePort,
  EndpointSliceState,
  EndpointState,
  ServicePortState,
  ServiceState,
} from "./types.js";

export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface SliceOptions {
  maxEndpointsPerSlice?: number;
  /** Node name → zone, for endpoints' `zone`. */
  zoneOf?: (nodeName: string) => string | undefined;
}

/** Whether the controller lists the pod at all (endpointutil.ShouldPodBeInEndpoints with terminating included). */
export function podIsEndpointCandidate(pod: PodState): boolean {
  return pod.ip !== null && pod.phase !== "Succeeded" && pod.phase !== "Failed";
}

/** The endpoint's conditions (the controller's podToEndpoint). */
export function endpointConditions(pod: PodState, publishNotReadyAddresses: boolean): EndpointConditions {
  const serving = pod.ready;
  const terminating = pod.terminating;
  // "ready" is never true for a terminating pod, unless publishNotReadyAddresses is set.
  const ready = publishNotReadyAddresses || (serving && !terminating);
  return { ready, serving, terminating };
}

/** The container port a Service port's targetPort names on this pod, or null (findPort). */
export function resolveTargetPort(pod: PodState, port: ServicePortState): number | null {
  if (typeof port.targetPort === "number") return port.targetPort;
  for (const c of pod.spec.containers) {
    for (const cp of c.ports) {
      if (cp.name === port.targetPort && cp.protocol === port.protocol) return cp.containerPort;
    }
  }
  return null;
}

/** The pods a Service selects (same namespace, selector matches), whether or not they are endpoints. */
export function podsSelectedBy(service: ServiceState, pods: readonly PodState[]): PodState[] {
  const selector = service.selector;
  if (selector === null || service.type === "ExternalName") return [];
  return pods.filter((p) => p.namespace === service.namespace && matchesServiceSelector(selector, p.labels));
}

/**
 * Pods indexed by namespace and label pair, so that finding a Service's pods costs the size of
 * the smallest matching group rather than the whole cluster (10,000 Services × 30,000 pods).
 */
export class PodIndex {
  private readonly byPair = new Map<string, PodState[]>();

  constructor(pods: readonly PodState[] = []) {
    for (const p of pods) this.add(p);
  }

  private static key(namespace: string, k: string, v: string): string {
    return `${namespace}\u0000${k}\u0000${v}`;
  }

  add(pod: PodState): void {
    for (const [k, v] of Object.entries(pod.labels)) {
      const key = PodIndex.key(pod.namespace, k, v);
      const list = this.byPair.get(key);
      if (list) list.push(pod);
      else this.byPair.set(key, [pod]);
    }
  }

  remove(pod: PodState): void {
    for (const [k, v] of Object.entries(pod.labels)) {
      const list = this.byPair.get(PodIndex.key(pod.namespace, k, v));
      const i = list ? list.indexOf(pod) : -1;
      if (list && i >= 0) list.splice(i, 1);
    }
  }

  /** The pods `service` selects, in the order they were added. */
  selectedBy(service: ServiceState): PodState[] {
    const selector = service.selector;
    if (selector === null || service.type === "ExternalName") return [];
    let best: PodState[] | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const list = this.byPair.get(PodIndex.key(service.namespace, k, v)) ?? [];
      if (best === undefined || list.length < best.length) best = list;
    }
    return (best ?? []).filter((p) => matchesServiceSelector(selector, p.labels));
  }
}

function sliceName(serviceName: string, key: string): string {
  return `${serviceName}-${nameSuffix(key)}`;
}

/**
 * The slices the controller keeps for `service`: endpoints grouped by their resolved ports (pods
 * whose named targetPort resolves differently, or not at all, land in different slices), each
 * group cut in slices of `maxEndpointsPerSlice`. A selector Service without endpoints still has
 * one empty slice, as the controller keeps a placeholder. A Service without a selector (or an
 * ExternalName one) gets none from the controller.
 */
export function endpointSlicesForService(
  service: ServiceState,
  pods: readonly PodState[],
  options: SliceOptions = {},
): EndpointSliceState[] {
  if (service.selector === null || service.type === "ExternalName") return [];
  const max = options.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const groups = new Map<string, { ports: EndpointSlicePort[]; endpoints: EndpointState[] }>();
  for (const pod of podsSelectedBy(service, pods)) {
    if (!podIsEndpointCandidate(pod) || pod.ip === null) continue;
    const ports: EndpointSlicePort[] = [];
    for (const sp of service.ports) {
      const n = resolveTargetPort(pod, sp);
      if (n !== null) ports.push({ name: sp.name, protocol: sp.protocol, port: n });
    }
    const key = ports.map((p) => `${p.name}/${p.protocol}/${p.port}`).join(",");
    let group = groups.get(key);
    if (!group) {
      group = { ports, endpoints: [] };
      groups.set(key, group);
    }
    const ep: EndpointState = {
      address: pod.ip,
      conditions: endpointConditions(pod, service.publishNotReadyAddresses),
      targetRef: { kind: "Pod", namespace: pod.namespace, name: pod.name },
    };
    if (pod.nodeName !== null) {
      ep.nodeName = pod.nodeName;
      const zone = options.zoneOf?.(pod.nodeName);
      if (zone !== undefined) ep.zone = zone;
    }
    group.endpoints.push(ep);
  }
  const base = `${service.namespace}/${service.name}`;
  if (groups.size === 0) {
    return [{ namespace: service.namespace, name: sliceName(service.name, `${base}/placeholder`), serviceName: service.name, addressType: "IPv4", ports: [], endpoints: [] }];
  }
  const out: EndpointSliceState[] = [];
  for (const [key, group] of groups) {
    for (let i = 0; i < group.endpoints.length; i += max) {
      out.push({
        namespace: service.namespace,
        name: sliceName(service.name, `${base}/${key}/${i / max}`),
        serviceName: service.name,
        addressType: "IPv4",
        ports: group.ports.map((p) => ({ ...p })),
        endpoints: group.endpoints.slice(i, i + max),
      });
    }
  }
  return out;
}

/** A hand-written EndpointSlice as the contract's state (kube-proxy uses each endpoint's first address). */
export function sliceFromObject(slice: EndpointSliceObject): EndpointSliceState {
  return {
    namespace: slice.metadata.namespace,
    name: slice.metadata.name,
    serviceName: slice.serviceName,
    addressType: "IPv4",
    ports: slice.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    endpoints: slice.endpoints.map((ep) => {
      const out: EndpointState = { address: ep.addresses[0], conditions: { ...ep.conditions } };
      if (ep.nodeName !== undefined) out.nodeName = ep.nodeName;
      if (ep.zone !== undefined) out.zone = ep.zone;
      if (ep.targetRef !== undefined && ep.targetRef.kind === "Pod") {
        out.targetRef = { kind: "Pod", namespace: ep.targetRef.namespace ?? slice.metadata.namespace, name: ep.targetRef.name };
      }
      return out;
    }),
  };
}

/**
 * `v1 Endpoints` of a Service without a selector, as the mirroring controller writes them: one
 * slice per subset port set, ready addresses ready/serving, notReadyAddresses neither.
 */
export function slicesFromEndpoints(endpoints: EndpointsObject, options: SliceOptions = {}): EndpointSliceState[] {
  const ns = endpoints.metadata.namespace;
  const svc = endpoints.metadata.name;
  const max = options.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const groups = new Map<string, { ports: EndpointSlicePort[]; endpoints: EndpointState[] }>();
  const toEndpoint = (a: EndpointsAddressSpec, ready: boolean): EndpointState => {
    const ep: EndpointState = { address: a.ip, conditions: { ready, serving: ready, terminating: false } };
    if (a.nodeName !== undefined) {
      ep.nodeName = a.nodeName;
      const zone = options.zoneOf?.(a.nodeName);
      if (zone !== undefined) ep.zone = zone;
    }
    if (a.targetRef !== undefined && a.targetRef.kind === "Pod") ep.targetRef = { kind: "Pod", namespace: a.targetRef.namespace ?? ns, name: a.targetRef.name };
    return ep;
  };
  for (const subset of endpoints.subsets) {
    const ports = subset.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port }));
    const key = ports.map((p) => `${p.name}/${p.protocol}/${p.port}`).join(",");
    let group = groups.get(key);
    if (!group) {
      group = { ports, endpoints: [] };
      groups.set(key, group);
    }
    group.endpoints.push(...subset.addresses.map((a) => toEndpoint(a, true)), ...subset.notReadyAddresses.map((a) => toEndpoint(a, false)));
  }
  const out: EndpointSliceState[] = [];
  for (const [key, group] of groups) {
    for (let i = 0; i < Math.max(1, group.endpoints.length); i += max) {
      out.push({
        namespace: ns,
        name: sliceName(svc, `${ns}/${svc}/mirror/${key}/${i / max}`),
        serviceName: svc,
        addressType: "IPv4",
        ports: group.ports,
        endpoints: group.endpoints.slice(i, i + max),
      });
    }
  }
  return out;
}
