/**
 * What every kube-proxy mode starts from: the cluster's Services flattened into service ports
 * (kube-proxy's ServicePortName, "namespace/name:port"), each with its endpoints as one node
 * sees them, categorized the way kube-proxy's CategorizeEndpoints does.
 */
import type {
  ClusterState,
  EndpointConditions,
  EndpointSliceState,
  ServicePortState,
  ServiceState,
} from "../cluster/types.js";

export interface ProxyEndpoint {
  /** "10.244.1.5:8080" */
  key: string;
  ip: string;
  port: number;
  nodeName: string | undefined;
  /** On the node being compiled. */
  isLocal: boolean;
  conditions: EndpointConditions;
}

export interface ServicePortInfo {
  service: ServiceState;
  port: ServicePortState;
  /**
   * kube-proxy's ServicePortName.String(): "ns/name:portname", or just "ns/name" for an unnamed
   * port (kube-proxy's fmtPortName adds the colon only when the port has a name).
   */
  name: string;
  /** Every endpoint of this port (ready, serving or terminating), sorted by key. */
  endpoints: ProxyEndpoint[];
  /**
   * Endpoints for traffic under Cluster policy: the ready ones, or, if none is ready, the ones
   * still serving while terminating (kube-proxy's terminating fallback).
   */
  clusterEndpoints: ProxyEndpoint[];
  /** Same rule, restricted to endpoints on this node. */
  localEndpoints: ProxyEndpoint[];
  /** Whether some endpoint is usable at all (cluster or local, per the policies in force). */
  hasEndpoints: boolean;
}

function usable(eps: ProxyEndpoint[]): ProxyEndpoint[] {
  const ready: ProxyEndpoint[] = [];
  for (const e of eps) if (e.conditions.ready) ready.push(e);
  if (ready.length > 0) return ready;
  const draining: ProxyEndpoint[] = [];
  for (const e of eps) if (e.conditions.serving && e.conditions.terminating) draining.push(e);
  return draining;
}

export function sliceKey(namespace: string, serviceName: string): string {
  return `${namespace}/${serviceName}`;
}

/** Groups slices by the Service they belong to. */
export function slicesByService(state: ClusterState): Map<string, EndpointSliceState[]> {
  const out = new Map<string, EndpointSliceState[]>();
  for (const slice of state.endpointSlices) {
    const k = sliceKey(slice.namespace, slice.serviceName);
    const list = out.get(k);
    if (list) list.push(slice);
    else out.set(k, [slice]);
  }
  return out;
}

/**
 * The service ports that kube-proxy programs on `nodeName`: Services with a cluster IP
 * (headless and ExternalName Services get no rules), in the order Services appear in the
 * state, ports in declaration order.
 */
export function servicePortsForNode(state: ClusterState, nodeName: string): ServicePortInfo[] {
  const slices = slicesByService(state);
  const out: ServicePortInfo[] = [];
  for (const svc of state.services) {
    if (!programmed(svc)) continue;
    for (const info of servicePortsOf(svc, slices.get(sliceKey(svc.namespace, svc.name)) ?? NO_SLICES, nodeName)) out.push(info);
  }
  return out;
}

const NO_SLICES: readonly EndpointSliceState[] = [];

/** Whether kube-proxy writes rules for the Service: it has a cluster IP (not headless, not ExternalName). */
export function programmed(svc: ServiceState): boolean {
  return !(svc.type === "ExternalName" || svc.headless || svc.clusterIP === null);
}

/**
 * One programmed Service's ports as `nodeName` sees them, from the Service's own slices. An
 * endpoint listed twice (in two slices) counts once, as its first listing. (Collected into an
 * array, sorted — stably — and thinned of repeats, rather than through a Map per port: this runs
 * for every Service of every compile, and the Map, the spread and the callbacks were half of it.)
 */
export function servicePortsOf(svc: ServiceState, svcSlices: readonly EndpointSliceState[], nodeName: string): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  const needsLocal = svc.internalTrafficPolicy === "Local" || svc.externalTrafficPolicy === "Local";
  for (const port of svc.ports) {
    const listed: ProxyEndpoint[] = [];
    for (const slice of svcSlices) {
      const sp = slicePort(slice, port);
      if (sp === undefined) continue;
      for (const ep of slice.endpoints) {
        listed.push({
          key: `${ep.address}:${sp.port}`,
          ip: ep.address,
          port: sp.port,
          nodeName: ep.nodeName,
          isLocal: ep.nodeName === nodeName,
          conditions: ep.conditions,
        });
      }
    }
    listed.sort(byKey);
    const endpoints: ProxyEndpoint[] = [];
    const local: ProxyEndpoint[] = [];
    for (let i = 0; i < listed.length; i++) {
      const e = listed[i];
      if (i > 0 && e.key === listed[i - 1].key) continue;
      endpoints.push(e);
      if (e.isLocal) local.push(e);
    }
    const clusterEndpoints = usable(endpoints);
    const localEndpoints = usable(local);
    out.push({
      service: svc,
      port,
      name: port.name === "" ? `${svc.namespace}/${svc.name}` : `${svc.namespace}/${svc.name}:${port.name}`,
      endpoints,
      clusterEndpoints,
      localEndpoints,
      hasEndpoints: clusterEndpoints.length > 0 || (needsLocal && localEndpoints.length > 0),
    });
  }
  return out;
}

/** The slice's port that serves the Service's `port` (same name and protocol), if any. */
function slicePort(slice: EndpointSliceState, port: ServicePortState): EndpointSliceState["ports"][number] | undefined {
  for (const p of slice.ports) if (p.name === port.name && p.protocol === port.protocol) return p;
  return undefined;
}

function byKey(a: ProxyEndpoint, b: ProxyEndpoint): number {
  return compareEndpointKeys(a.key, b.key);
}

/** kube-proxy orders endpoints by their "ip:port" string. */
export function compareEndpointKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
