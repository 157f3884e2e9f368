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
  const ready = eps.filter((e) => e.conditions.ready);
  if (ready.length > 0) return ready;
  return eps.filter((e) => e.conditions.serving && e.conditions.terminating);
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
    out.push(...servicePortsOf(svc, slices.get(sliceKey(svc.namespace, svc.name)) ?? [], nodeName));
  }
  return out;
}

/** Whether kube-proxy writes rules for the Service: it has a cluster IP (not headless, not ExternalName). */
export function programmed(svc: ServiceState): boolean {
  return !(svc.type === "ExternalName" || svc.headless || svc.clusterIP === null);
}

/** One programmed Service's ports as `nodeName` sees them, from the Service's own slices. */
export function servicePortsOf(svc: ServiceState, svcSlices: readonly EndpointSliceState[], nodeName: string): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const port of svc.ports) {
    const byKey = new Map<string, ProxyEndpoint>();
    for (const slice of svcSlices) {
      const sp = slice.ports.find((p) => p.name === port.name && p.protocol === port.protocol);
      if (!sp) continue;
      for (const ep of slice.endpoints) {
        const key = `${ep.address}:${sp.port}`;
        if (byKey.has(key)) continue;
        byKey.set(key, {
          key,
          ip: ep.address,
          port: sp.port,
          nodeName: ep.nodeName,
          isLocal: ep.nodeName === nodeName,
          conditions: ep.conditions,
        });
      }
    }
    const endpoints = [...byKey.values()].sort((a, b) => compareEndpointKeys(a.key, b.key));
    const clusterEndpoints = usable(endpoints);
    const localEndpoints = usable(endpoints.filter((e) => e.isLocal));
    const needsLocal = svc.internalTrafficPolicy === "Local" || svc.externalTrafficPolicy === "Local";
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

/** kube-proxy orders endpoints by their "ip:port" string. */
export function compareEndpointKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
