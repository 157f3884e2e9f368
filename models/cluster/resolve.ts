/**
 * resolveCluster: what the control plane decides when a scenario's objects are applied to an
 * empty cluster — system objects added, cluster IPs, NodePorts and load balancer addresses
 * allocated, pods created, scheduled and addressed, EndpointSlices written. Deterministic: the
 * same scenario always resolves to the same state.
 *
 * The control plane's delays (pod change → slice → each node's kube-proxy) are kept as data in
 * `config.controlPlane`; simulating them in time is the workload layer's job.
 */
import { originError } from "../scenario/context.js";
import type { ObjectOrigin, Scenario, ServiceObject } from "../scenario/types.js";
import { formatIPv4 } from "../network/ip.js";
import { LoadBalancerIPAllocator, NodePortAllocator, PodIPAllocator, ServiceIPAllocator } from "./allocators.js";
import { endpointSlicesForService, PodIndex, resolveTargetPort, sliceFromObject, slicesFromEndpoints } from "./endpointSlices.js";
import { deterministicUid } from "./names.js";
import { buildNodes } from "./nodes.js";
import { PodFactory, replicaSetOf } from "./pods.js";
import type { PodState, ResolvedCluster, ResolvedDeployment, ResolvedService, ResolvedSliceInfo } from "./resolved.js";
import { matchesServiceSelector } from "./selectors.js";
import {
  API_SERVER_PORT,
  COREDNS_DEPLOYMENT,
  corednsDeployment,
  KUBE_DNS_SERVICE,
  kubeDnsService,
  KUBE_SYSTEM,
  kubernetesService,
  SYSTEM_CREATION_LEAD_MS,
} from "./system.js";
import type { EndpointSliceState, ServicePortState, ServiceState } from "./types.js";

/** When objects without a creationTimestamp are applied, if no object has one. */
export const DEFAULT_APPLY_TIME_MS = Date.UTC(2024, 0, 1);

export const LABEL_SERVICE_NAME = "kubernetes.io/service-name";
export const LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
export const LABEL_HEADLESS = "service.kubernetes.io/headless";
export const LABEL_SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror";
export const CONTROLLER_NAME = "endpointslice-controller.k8s.io";
export const MIRRORING_CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io";

const key = (s: { metadata: { namespace: string; name: string } }) => `${s.metadata.namespace}/${s.metadata.name}`;

function wantsClusterIP(s: ServiceObject): boolean {
  return s.type !== "ExternalName" && !s.headless;
}

function isExplicitIP(s: ServiceObject): s is ServiceObject & { clusterIP: string } {
  return s.clusterIP !== undefined && s.clusterIP !== "" && s.clusterIP !== "None";
}

function describeRange(alloc: ServiceIPAllocator): string {
  const first = formatIPv4(alloc.cidr.base + 1);
  const last = formatIPv4(alloc.cidr.base + alloc.cidr.size - 2);
  return `${first}-${last}`;
}

export function resolveCluster(scenario: Scenario): ResolvedCluster {
  const cluster = scenario.cluster;
  const warnings = [...scenario.warnings];
  const clusterOrigin: ObjectOrigin = cluster.origin ?? { file: scenario.file, document: "(default Cluster)", pathPrefix: "" };
  const { nodes, apiServerIP } = buildNodes(cluster, clusterOrigin);
  const nodeZone = new Map(nodes.map((n) => [n.name, n.zone]));
  const zoneOf = (n: string) => nodeZone.get(n);

  // ---- the built-in objects the scenario does not define
  const userServices = scenario.services;
  const has = (ns: string, name: string) => userServices.some((s) => s.metadata.namespace === ns && s.metadata.name === name);
  const systemServices: ServiceObject[] = [];
  if (!has("default", "kubernetes")) systemServices.push(kubernetesService());
  if (!has(KUBE_SYSTEM, KUBE_DNS_SERVICE)) systemServices.push(kubeDnsService());
  const kubeDns = [...systemServices, ...userServices].find((s) => s.metadata.namespace === KUBE_SYSTEM && s.metadata.name === KUBE_DNS_SERVICE);
  const dnsSelector = kubeDns?.selector ?? null;
  const userRunsDns = scenario.deployments.some(
    (d) =>
      d.metadata.namespace === KUBE_SYSTEM &&
      (d.metadata.name === COREDNS_DEPLOYMENT || (dnsSelector !== null && matchesServiceSelector(dnsSelector, d.template.labels))),
  );
  const systemDeployments = userRunsDns ? [] : [corednsDeployment(cluster)];
  const systemSet = new Set<object>([...systemServices, ...systemDeployments]);

  // ---- creation times: objects with a creationTimestamp keep it; the others are applied after
  // the latest of them (a scenario applied to the cluster a kubectl List describes).
  const stamps = [...userServices, ...scenario.deployments]
    .map((o) => o.metadata.creationTimestampMs)
    .filter((t): t is number => t !== undefined);
  const applyTimeMs = stamps.length > 0 ? Math.max(...stamps) + 1000 : DEFAULT_APPLY_TIME_MS;
  const systemTimeMs = (stamps.length > 0 ? Math.min(...stamps) : applyTimeMs) - SYSTEM_CREATION_LEAD_MS;
  const createdAt = (o: { metadata: { creationTimestampMs?: number } }, system: boolean) =>
    system ? systemTimeMs : (o.metadata.creationTimestampMs ?? applyTimeMs);

  const allServices = [...systemServices, ...userServices];
  const docOf = new Map(allServices.map((s) => [key(s), s.origin.document]));
  const ownerText = (owner: string | undefined) => (owner ? `Service ${owner} (${docOf.get(owner) ?? "?"})` : "another object");

  // ---- cluster IPs: explicit requests first, then the built-in Services at their usual
  // addresses, then everybody else in document order.
  const ips = new ServiceIPAllocator(cluster.serviceClusterIPRange);
  const clusterIPs = new Map<ServiceObject, string>();
  for (const s of userServices) {
    if (!wantsClusterIP(s) || !isExplicitIP(s)) continue;
    const r = ips.reserve(s.clusterIP, key(s));
    if (!r.ok) {
      throw r.reason === "outside"
        ? originError(
            s.origin,
            "spec.clusterIP",
            `clusterIP ${s.clusterIP} is outside serviceClusterIPRange ${ips.cidr.text}`,
            `an address in ${describeRange(ips)}`,
            s.clusterIP,
          )
        : originError(s.origin, "spec.clusterIP", `clusterIP ${s.clusterIP} is already allocated to ${ownerText(r.owner)}`, "a free address, or none to allocate one", s.clusterIP);
    }
    clusterIPs.set(s, s.clusterIP);
  }
  for (const s of systemServices) {
    const preferred = ips.nthAddress(s.metadata.name === "kubernetes" ? 1 : 10);
    let ip: string | null = null;
    if (preferred !== null && ips.reserve(preferred, key(s)).ok) ip = preferred;
    else ip = ips.allocate(key(s));
    if (ip === null) {
      throw originError(
        clusterOrigin,
        "spec.serviceClusterIPRange",
        `serviceClusterIPRange ${ips.cidr.text} has no address left for the built-in Service ${key(s)}`,
        "a larger range",
        ips.cidr.text,
      );
    }
    clusterIPs.set(s, ip);
  }
  for (const s of userServices) {
    if (!wantsClusterIP(s) || isExplicitIP(s)) continue;
    const ip = ips.allocate(key(s));
    if (ip === null) {
      throw originError(
        s.origin,
        "spec.clusterIP",
        `serviceClusterIPRange ${ips.cidr.text} is exhausted (${ips.capacity} allocatable addresses, all in use${
          systemServices.length > 0 ? `, ${systemServices.length} of them by the built-in ${systemServices.map((x) => x.metadata.name).join(" and ")} Service${systemServices.length > 1 ? "s" : ""}` : ""
        })`,
        "a larger serviceClusterIPRange in the Cluster, or fewer Services",
        `${ips.used} Services with cluster IPs`,
      );
    }
    clusterIPs.set(s, ip);
  }

  // ---- NodePorts and health check ports
  const range = cluster.serviceNodePortRange;
  const nodePorts = new NodePortAllocator(range.min, range.max);
  const rangeText = `${range.min}-${range.max}`;
  const allocatedPorts = new Map<ServiceObject, (number | undefined)[]>();
  const healthPorts = new Map<ServiceObject, number>();
  const portError = (s: ServiceObject, field: string, port: number, r: { reason: "outside" | "taken"; owner?: string }) =>
    r.reason === "outside"
      ? originError(s.origin, field, `port ${port} is outside serviceNodePortRange ${rangeText}`, `a port from ${range.min} to ${range.max}`, port)
      : originError(s.origin, field, `nodePort ${port} is already allocated to ${ownerText(r.owner)}`, "a free port, or none to allocate one", port);
  for (const s of allServices) {
    if (s.type !== "NodePort" && s.type !== "LoadBalancer") continue;
    const list: (number | undefined)[] = s.ports.map(() => undefined);
    s.ports.forEach((p, i) => {
      if (p.nodePort === undefined) return;
      const r = nodePorts.reserve(p.nodePort, key(s), p.protocol);
      if (!r.ok) throw portError(s, `spec.ports[${i}].nodePort`, p.nodePort, r);
      list[i] = p.nodePort;
    });
    allocatedPorts.set(s, list);
    if (s.healthCheckNodePort !== undefined) {
      const r = nodePorts.reserve(s.healthCheckNodePort, `${key(s)} (health check)`);
      if (!r.ok) throw portError(s, "spec.healthCheckNodePort", s.healthCheckNodePort, r);
      healthPorts.set(s, s.healthCheckNodePort);
    }
  }
  for (const s of allServices) {
    const list = allocatedPorts.get(s);
    if (!list) continue;
    if (s.type === "LoadBalancer" && !s.allocateLoadBalancerNodePorts) continue;
    s.ports.forEach((p, i) => {
      if (list[i] !== undefined) return;
      // A port number shared by two protocols (DNS's 53/UDP and 53/TCP) shares its nodePort.
      const twin = s.ports.findIndex((q, j) => j !== i && q.port === p.port && list[j] !== undefined);
      if (twin >= 0) {
        const shared = list[twin] as number;
        if (nodePorts.reserve(shared, key(s), p.protocol).ok) {
          list[i] = shared;
          return;
        }
      }
      const port = nodePorts.allocate(key(s), p.protocol);
      if (port === null) {
        throw originError(s.origin, `spec.ports[${i}].nodePort`, `serviceNodePortRange ${rangeText} is exhausted`, "a larger serviceNodePortRange in the Cluster, or fewer NodePorts", rangeText);
      }
      list[i] = port;
    });
  }
  for (const s of allServices) {
    if (s.type !== "LoadBalancer" || s.externalTrafficPolicy !== "Local" || healthPorts.has(s)) continue;
    const port = nodePorts.allocate(`${key(s)} (health check)`);
    if (port === null) {
      throw originError(s.origin, "spec.healthCheckNodePort", `serviceNodePortRange ${rangeText} is exhausted`, "a larger serviceNodePortRange in the Cluster", rangeText);
    }
    healthPorts.set(s, port);
  }

  // ---- load balancer addresses from the fake cloud
  const lbs = new LoadBalancerIPAllocator(cluster.loadBalancerCIDR);
  const ingress = new Map<ServiceObject, string[]>();
  for (const s of allServices) {
    if (s.type !== "LoadBalancer") continue;
    const wanted = s.loadBalancerIngress.length > 0 ? s.loadBalancerIngress : s.loadBalancerIP !== undefined ? [s.loadBalancerIP] : [];
    wanted.forEach((ip, i) => {
      const r = lbs.reserve(ip, key(s));
      if (!r.ok) {
        const field = s.loadBalancerIngress.length > 0 ? `status.loadBalancer.ingress[${i}].ip` : "spec.loadBalancerIP";
        throw originError(s.origin, field, `load balancer address ${ip} is already used by ${ownerText(r.owner)}`, "a free address", ip);
      }
    });
    if (wanted.length > 0) ingress.set(s, [...wanted]);
  }
  for (const s of allServices) {
    if (s.type !== "LoadBalancer" || ingress.has(s)) continue;
    const ip = lbs.allocate(key(s));
    if (ip === null) {
      throw originError(clusterOrigin, "spec.loadBalancerCIDR", `the load balancer pool ${lbs.cidr.text} is exhausted (Service ${key(s)})`, "a larger loadBalancerCIDR", lbs.cidr.text);
    }
    ingress.set(s, [ip]);
  }

  // ---- ServiceState
  const services: ResolvedService[] = allServices.map((s) => {
    const list = allocatedPorts.get(s);
    const ports: ServicePortState[] = s.ports.map((p, i) => {
      const out: ServicePortState = { name: p.name, protocol: p.protocol, port: p.port, targetPort: p.targetPort };
      const np = list?.[i];
      if (np !== undefined) out.nodePort = np;
      return out;
    });
    const state: ServiceState = {
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      type: s.type,
      clusterIP: clusterIPs.get(s) ?? null,
      headless: s.headless,
      ports,
      selector: s.selector === null ? null : { ...s.selector },
      externalIPs: [...s.externalIPs],
      loadBalancerIngress: ingress.get(s) ?? [],
      loadBalancerSourceRanges: [...s.loadBalancerSourceRanges],
      externalTrafficPolicy: s.externalTrafficPolicy,
      internalTrafficPolicy: s.internalTrafficPolicy,
      sessionAffinity: s.sessionAffinity,
      sessionAffinityTimeoutSeconds: s.sessionAffinityTimeoutSeconds,
      publishNotReadyAddresses: s.publishNotReadyAddresses,
    };
    if (s.externalName !== undefined) state.externalName = s.externalName;
    const hc = healthPorts.get(s);
    if (hc !== undefined) state.healthCheckNodePort = hc;
    const system = systemSet.has(s);
    const rs: ResolvedService = {
      state,
      uid: deterministicUid(`Service/${key(s)}`),
      labels: { ...s.metadata.labels },
      annotations: { ...s.metadata.annotations },
      createdAtMs: createdAt(s, system),
      system,
    };
    if (!system) rs.origin = s.origin;
    return rs;
  });

  // ---- Deployments → ReplicaSets → pods
  const podIPs = new PodIPAllocator();
  for (const n of nodes) podIPs.addNode(n.name, n.podCIDR);
  const factory = new PodFactory(nodes, podIPs);
  const nodeNames = new Set(nodes.map((n) => n.name));
  const deployments: ResolvedDeployment[] = [...systemDeployments, ...scenario.deployments].map((d) => {
    const system = systemSet.has(d);
    return { spec: d, uid: deterministicUid(`Deployment/${key(d)}`), ...replicaSetOf(d), createdAtMs: createdAt(d, system), system };
  });
  const pods: PodState[] = [];
  for (const d of deployments) {
    const t = d.spec.template;
    if (t.nodeName !== undefined && !nodeNames.has(t.nodeName)) {
      warnings.push(`${d.spec.origin.document}: spec.template.spec.nodeName ${t.nodeName} names no node of the Cluster; its pods stay Pending`);
    }
    let pending = 0;
    for (let i = 0; i < d.spec.replicas; i++) {
      const pod = factory.createPod(d, { startedAtMs: d.createdAtMs });
      if (pod.phase === "Pending") pending++;
      pods.push(pod);
    }
    if (pending > 0) {
      warnings.push(
        `${d.spec.origin.document}: ${pending} of ${d.spec.replicas} pods of Deployment ${key(d.spec)} fit no node (nodeName, nodeSelector or maxPodsPerNode) and stay Pending`,
      );
    }
  }

  // ---- EndpointSlices
  const slices: EndpointSliceState[] = [];
  const sliceInfo = new Map<string, ResolvedSliceInfo>();
  const addSlice = (slice: EndpointSliceState, info: ResolvedSliceInfo) => {
    slices.push(slice);
    sliceInfo.set(`${slice.namespace}/${slice.name}`, info);
  };
  const serviceByKey = new Map(services.map((s) => [`${s.state.namespace}/${s.state.name}`, s]));
  const endpointsByKey = new Map(scenario.endpoints.map((e) => [key(e), e]));
  const podIndex = new PodIndex(pods);
  for (const svc of services) {
    const st = svc.state;
    const sk = `${st.namespace}/${st.name}`;
    const baseLabels: Record<string, string> = { ...svc.labels, [LABEL_SERVICE_NAME]: st.name };
    if (st.headless) baseLabels[LABEL_HEADLESS] = "";
    if (st.selector !== null && st.type !== "ExternalName") {
      const selected = podIndex.selectedBy(st);
      for (const slice of endpointSlicesForService(st, selected, { zoneOf })) {
        addSlice(slice, { managedBy: CONTROLLER_NAME, labels: { ...baseLabels, [LABEL_MANAGED_BY]: CONTROLLER_NAME }, system: svc.system });
      }
      checkTargetPorts(st, selected, warnings, svc.origin?.document ?? sk);
      continue;
    }
    if (svc.system && st.name === "kubernetes" && st.namespace === "default") {
      addSlice(
        {
          namespace: "default",
          name: "kubernetes",
          serviceName: "kubernetes",
          addressType: "IPv4",
          ports: [{ name: "https", protocol: "TCP", port: API_SERVER_PORT }],
          endpoints: [{ address: apiServerIP, conditions: { ready: true, serving: true, terminating: false } }],
        },
        { managedBy: null, labels: { [LABEL_SERVICE_NAME]: "kubernetes" }, system: true },
      );
      continue;
    }
    if (st.type === "ExternalName") continue;
    const ep = endpointsByKey.get(sk);
    if (ep !== undefined && ep.metadata.labels[LABEL_SKIP_MIRROR] !== "true") {
      for (const slice of slicesFromEndpoints(ep, { zoneOf })) {
        addSlice(slice, { managedBy: MIRRORING_CONTROLLER_NAME, labels: { ...ep.metadata.labels, [LABEL_SERVICE_NAME]: st.name, [LABEL_MANAGED_BY]: MIRRORING_CONTROLLER_NAME }, system: false });
      }
    }
  }
  // Hand-written slices (and other managers') are kept as written. Mirrored slices in the input
  // are dropped where svcsim mirrors the Endpoints itself.
  for (const obj of scenario.endpointSlices) {
    const sk = `${obj.metadata.namespace}/${obj.serviceName}`;
    const svc = serviceByKey.get(sk);
    const mirrored = obj.managedBy === MIRRORING_CONTROLLER_NAME && endpointsByKey.has(sk) && svc !== undefined && svc.state.selector === null;
    if (mirrored) continue;
    if (svc === undefined) warnings.push(`${obj.origin.document}: EndpointSlice for Service ${sk}, which the scenario does not define; no Service uses it`);
    if (sliceInfo.has(key(obj))) {
      throw originError(obj.origin, "metadata.name", `an EndpointSlice ${key(obj)} is also generated by svcsim`, "another name", obj.metadata.name);
    }
    addSlice(sliceFromObject(obj), { managedBy: obj.managedBy ?? null, labels: { ...obj.metadata.labels }, system: false });
  }
  for (const ep of scenario.endpoints) {
    const svc = serviceByKey.get(key(ep));
    if (svc === undefined) warnings.push(`${ep.origin.document}: Endpoints without a Service ${key(ep)} are not mirrored; ignored`);
    else if (svc.state.selector !== null) warnings.push(`${ep.origin.document}: Service ${key(ep)} has a selector, so its Endpoints come from its pods; these are ignored`);
  }

  for (const c of scenario.workload.clients) {
    const t = c.target;
    if (t.kind !== "nodePort") continue;
    if (!services.some((s) => s.state.ports.some((p) => p.nodePort === t.port) || s.state.healthCheckNodePort === t.port)) {
      warnings.push(`client ${c.name}: no Service has nodePort ${t.port}, so connections to ${t.text} are refused (give the Service an explicit nodePort)`);
    }
  }

  const dnsService = services.find((s) => s.state.namespace === KUBE_SYSTEM && s.state.name === KUBE_DNS_SERVICE);
  return {
    name: scenario.name,
    config: cluster,
    state: {
      clusterCIDR: cluster.clusterCIDR,
      serviceClusterIPRange: cluster.serviceClusterIPRange,
      nodes: nodes,
      services: services.map((s) => s.state),
      endpointSlices: slices,
    },
    nodes,
    pods,
    services,
    deployments,
    sliceInfo,
    dns: {
      namespace: KUBE_SYSTEM,
      serviceName: KUBE_DNS_SERVICE,
      clusterIP: dnsService?.state.clusterIP ?? null,
      clusterDomain: cluster.dns.clusterDomain,
      ndots: cluster.dns.ndots,
    },
    apiServer: { ip: apiServerIP, port: API_SERVER_PORT },
    applyTimeMs,
    podIPs,
    warnings,
  };
}

/** Warns when a named targetPort resolves on none of the Service's pods (it then has no endpoints for it). */
function checkTargetPorts(svc: ServiceState, selected: readonly PodState[], warnings: string[], where: string): void {
  if (selected.length === 0) return;
  svc.ports.forEach((p, i) => {
    if (typeof p.targetPort !== "string") return;
    if (!selected.some((pod) => resolveTargetPort(pod, p) !== null)) {
      warnings.push(`${where}: spec.ports[${i}].targetPort ${JSON.stringify(p.targetPort)} names no ${p.protocol} container port of the selected pods; that port has no endpoints`);
    }
  });
}
