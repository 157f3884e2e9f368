/**
 * The resolved cluster as `kubectl get svc,endpointslices,pods -A -o yaml` would print it: a
 * `v1 List` of Services (allocated clusterIP, nodePorts, load balancer ingress), EndpointSlices
 * and Pods (node, IP, conditions, and the Service environment variables the kubelet sets).
 *
 * The objects svcsim adds on its own (the `kubernetes` and `kube-dns` Services, the CoreDNS
 * pods, their slices) are left out unless `includeSystem` is set, so that the List shows what
 * the scenario declared.
 */
import { containerEnv, serviceEnvVars } from "../discovery/envvars.js";
import type { ContainerSpec, ProbeSpec } from "../scenario/types.js";
import { deterministicUid } from "./names.js";
import type { PodState, ResolvedCluster, ResolvedService } from "./resolved.js";
import type { EndpointSliceState } from "./types.js";

export interface DescribeOptions {
  /** Include the built-in kube-dns/kubernetes Services, CoreDNS pods and their slices. */
  includeSystem?: boolean;
}

type Obj = Record<string, unknown>;

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function byNamespaceName(a: { ns: string; name: string }, b: { ns: string; name: string }): number {
  if (a.ns !== b.ns) return a.ns < b.ns ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function nonEmpty(m: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(m).length > 0 ? { ...m } : undefined;
}

/** Drops undefined fields (absent in kubectl's output, and not representable in JSON). */
function clean(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

function describeService(s: ResolvedService): Obj {
  const st = s.state;
  const external = st.type === "NodePort" || st.type === "LoadBalancer";
  const spec = clean({
    allocateLoadBalancerNodePorts: st.type === "LoadBalancer" ? st.ports.some((p) => p.nodePort !== undefined) || st.ports.length === 0 : undefined,
    clusterIP: st.type === "ExternalName" ? undefined : st.headless ? "None" : (st.clusterIP ?? undefined),
    clusterIPs: st.type === "ExternalName" ? undefined : st.headless ? ["None"] : st.clusterIP !== null ? [st.clusterIP] : undefined,
    externalIPs: st.externalIPs.length > 0 ? [...st.externalIPs] : undefined,
    externalName: st.externalName,
    externalTrafficPolicy: external || st.externalIPs.length > 0 ? st.externalTrafficPolicy : undefined,
    healthCheckNodePort: st.healthCheckNodePort,
    internalTrafficPolicy: st.type === "ExternalName" ? undefined : st.internalTrafficPolicy,
    ipFamilies: st.type === "ExternalName" ? undefined : ["IPv4"],
    ipFamilyPolicy: st.type === "ExternalName" ? undefined : "SingleStack",
    loadBalancerSourceRanges: st.loadBalancerSourceRanges.length > 0 ? [...st.loadBalancerSourceRanges] : undefined,
    ports:
      st.ports.length > 0
        ? st.ports.map((p) => clean({ name: p.name === "" ? undefined : p.name, nodePort: p.nodePort, port: p.port, protocol: p.protocol, targetPort: p.targetPort }))
        : undefined,
    publishNotReadyAddresses: st.publishNotReadyAddresses ? true : undefined,
    selector: st.selector !== null ? { ...st.selector } : undefined,
    sessionAffinity: st.sessionAffinity,
    sessionAffinityConfig: st.sessionAffinity === "ClientIP" ? { clientIP: { timeoutSeconds: st.sessionAffinityTimeoutSeconds } } : undefined,
    type: st.type,
  });
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: clean({
      annotations: nonEmpty(s.annotations),
      creationTimestamp: isoTime(s.createdAtMs),
      labels: nonEmpty(s.labels),
      name: st.name,
      namespace: st.namespace,
      uid: s.uid,
    }),
    spec,
    status: { loadBalancer: st.type === "LoadBalancer" ? { ingress: st.loadBalancerIngress.map((ip) => ({ ip, ipMode: "VIP" })) } : {} },
  };
}

function describeSlice(slice: EndpointSliceState, resolved: ResolvedCluster, podUid: Map<string, string>, svcByKey: Map<string, ResolvedService>): Obj {
  const info = resolved.sliceInfo.get(`${slice.namespace}/${slice.name}`);
  const svc = svcByKey.get(`${slice.namespace}/${slice.serviceName}`);
  const controlled = info?.managedBy !== null && info?.managedBy !== undefined && svc !== undefined;
  return {
    addressType: slice.addressType,
    apiVersion: "discovery.k8s.io/v1",
    endpoints: slice.endpoints.map((ep) =>
      clean({
        addresses: [ep.address],
        conditions: { ready: ep.conditions.ready, serving: ep.conditions.serving, terminating: ep.conditions.terminating },
        nodeName: ep.nodeName,
        targetRef: ep.targetRef
          ? clean({ kind: "Pod", name: ep.targetRef.name, namespace: ep.targetRef.namespace, uid: podUid.get(`${ep.targetRef.namespace}/${ep.targetRef.name}`) })
          : undefined,
        zone: ep.zone,
      }),
    ),
    kind: "EndpointSlice",
    metadata: clean({
      generateName: controlled ? `${slice.serviceName}-` : undefined,
      labels: { ...(info?.labels ?? {}), "kubernetes.io/service-name": slice.serviceName },
      name: slice.name,
      namespace: slice.namespace,
      ownerReferences: controlled
        ? [{ apiVersion: "v1", blockOwnerDeletion: true, controller: true, kind: "Service", name: slice.serviceName, uid: svc.uid }]
        : undefined,
    }),
    ports: slice.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
  };
}

function describeProbe(p: ProbeSpec): Obj {
  const h = p.handler;
  const handler: Obj =
    h.type === "httpGet"
      ? { httpGet: { path: h.path, port: h.port, scheme: h.scheme } }
      : h.type === "tcpSocket"
        ? { tcpSocket: { port: h.port } }
        : h.type === "grpc"
          ? { grpc: { port: h.port } }
          : { exec: { command: [...h.command] } };
  return {
    ...handler,
    failureThreshold: p.failureThreshold,
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds,
    successThreshold: p.successThreshold,
    timeoutSeconds: p.timeoutSeconds,
  };
}

function describeContainer(c: ContainerSpec, env: { name: string; value: string }[]): Obj {
  let lifecycle: Obj | undefined;
  if (c.preStop) {
    const ps = c.preStop;
    lifecycle = {
      preStop: ps.type === "sleep" ? { sleep: { seconds: ps.sleepSeconds } } : ps.command ? { exec: { command: [...ps.command] } } : { [ps.type]: {} },
    };
  }
  return clean({
    env: env.length > 0 ? env : undefined,
    image: c.image,
    lifecycle,
    livenessProbe: c.livenessProbe ? describeProbe(c.livenessProbe) : undefined,
    name: c.name,
    ports: c.ports.length > 0 ? c.ports.map((p) => clean({ containerPort: p.containerPort, hostPort: p.hostPort, name: p.name, protocol: p.protocol })) : undefined,
    readinessProbe: c.readinessProbe ? describeProbe(c.readinessProbe) : undefined,
    startupProbe: c.startupProbe ? describeProbe(c.startupProbe) : undefined,
  });
}

function describePod(pod: PodState, resolved: ResolvedCluster, rsUid: Map<string, string>): Obj {
  const vars = serviceEnvVars({ namespace: pod.namespace, startedAtMs: pod.startedAtMs, enableServiceLinks: pod.spec.enableServiceLinks }, resolved.services);
  const scheduled = pod.nodeName !== null;
  const t = isoTime(pod.startedAtMs);
  const cond = (type: string, ok: boolean) => ({ lastProbeTime: null, lastTransitionTime: t, status: ok ? "True" : "False", type });
  const owner = pod.owner;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: clean({
      annotations: nonEmpty(pod.annotations),
      creationTimestamp: t,
      generateName: owner ? `${owner.replicaSet}-` : undefined,
      labels: nonEmpty(pod.labels),
      name: pod.name,
      namespace: pod.namespace,
      ownerReferences: owner
        ? [{ apiVersion: "apps/v1", blockOwnerDeletion: true, controller: true, kind: "ReplicaSet", name: owner.replicaSet, uid: rsUid.get(`${pod.namespace}/${owner.replicaSet}`) }]
        : undefined,
      uid: pod.uid,
    }),
    spec: clean({
      containers: pod.spec.containers.map((c) => describeContainer(c, containerEnv(c.env, vars))),
      dnsPolicy: pod.spec.dnsPolicy,
      enableServiceLinks: pod.spec.enableServiceLinks,
      hostNetwork: pod.spec.hostNetwork ? true : undefined,
      nodeName: pod.nodeName ?? undefined,
      nodeSelector: nonEmpty(pod.spec.nodeSelector),
      restartPolicy: "Always",
      schedulerName: "default-scheduler",
      terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds,
    }),
    status: clean({
      conditions: [
        cond("PodReadyToStartContainers", scheduled),
        cond("Initialized", scheduled),
        cond("Ready", pod.ready),
        cond("ContainersReady", pod.ready),
        cond("PodScheduled", scheduled),
      ],
      hostIP: pod.hostIP ?? undefined,
      hostIPs: pod.hostIP ? [{ ip: pod.hostIP }] : undefined,
      phase: pod.phase,
      podIP: pod.ip ?? undefined,
      podIPs: pod.ip ? [{ ip: pod.ip }] : undefined,
      qosClass: "BestEffort",
      startTime: scheduled ? t : undefined,
    }),
  };
}

/** The resolved objects as a `v1 List`, ready for YAML or JSON output. */
export function describeList(resolved: ResolvedCluster, options: DescribeOptions = {}): Obj {
  const all = options.includeSystem ?? false;
  const systemNamespaces = new Set(resolved.deployments.filter((d) => d.system).map((d) => `${d.spec.metadata.namespace}/${d.spec.metadata.name}`));
  const services = resolved.services.filter((s) => all || !s.system);
  const svcByKey = new Map(resolved.services.map((s) => [`${s.state.namespace}/${s.state.name}`, s]));
  const slices = resolved.state.endpointSlices.filter((sl) => all || !(resolved.sliceInfo.get(`${sl.namespace}/${sl.name}`)?.system ?? false));
  const pods = resolved.pods.filter((p) => all || !(p.owner !== null && systemNamespaces.has(`${p.namespace}/${p.owner.deployment}`)));
  const podUid = new Map(resolved.pods.map((p) => [`${p.namespace}/${p.name}`, p.uid]));
  const rsUid = new Map(
    resolved.deployments.map((d) => {
      const k = `${d.spec.metadata.namespace}/${d.replicaSetName}`;
      return [k, deterministicUid(`ReplicaSet/${k}`)];
    }),
  );

  const items: Obj[] = [
    ...services
      .map((s) => ({ ns: s.state.namespace, name: s.state.name, obj: describeService(s) }))
      .sort(byNamespaceName)
      .map((x) => x.obj),
    ...slices
      .map((sl) => ({ ns: sl.namespace, name: sl.name, obj: describeSlice(sl, resolved, podUid, svcByKey) }))
      .sort(byNamespaceName)
      .map((x) => x.obj),
    ...pods
      .map((p) => ({ ns: p.namespace, name: p.name, obj: describePod(p, resolved, rsUid) }))
      .sort(byNamespaceName)
      .map((x) => x.obj),
  ];
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}
