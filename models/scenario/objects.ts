/**
 * Kubernetes objects: schema parse (schemas.ts), then the cross-field rules of the API server's
 * validation that matter to svcsim, then Kubernetes' defaults, into the types of types.ts.
 */
import { InputError } from "../../sim/errors.js";
import { tryParseIPv4 } from "../network/ip.js";
import { isEmptySelector, matchesLabelSelector } from "../cluster/selectors.js";
import type { DocContext } from "./context.js";
import { fieldError, originOf } from "./context.js";
import { parseOrThrow } from "./issues.js";
import {
  deploymentSchema,
  endpointSliceSchema,
  endpointsSchema,
  serviceSchema,
  type ContainerInput,
  type LifecycleHandlerInput,
  type ProbeInput,
} from "./schemas.js";
import type {
  ContainerSpec,
  DeploymentObject,
  EndpointSliceObject,
  EndpointsObject,
  IntOrPercent,
  LabelSelector,
  ObjectMeta,
  PodSpecTemplate,
  PreStopSpec,
  ProbeSpec,
  ServiceObject,
  ServicePortSpec,
} from "./types.js";
import { checkDistribution } from "./values.js";

export const SERVICE_TIME_ANNOTATION = "svcsim.dev/service-time";
export const CONCURRENCY_ANNOTATION = "svcsim.dev/concurrency";
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const ENDPOINTSLICE_CONTROLLER = "endpointslice-controller.k8s.io";
export const ENDPOINTSLICE_MIRRORING_CONTROLLER = "endpointslicemirroring-controller.k8s.io";

interface MetaInput {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

function meta(input: MetaInput, ctx: DocContext): ObjectMeta {
  const out: ObjectMeta = {
    namespace: input.namespace ?? "default",
    name: input.name,
    labels: { ...(input.labels ?? {}) },
    annotations: { ...(input.annotations ?? {}) },
  };
  if (input.creationTimestamp !== undefined) {
    const ms = Date.parse(input.creationTimestamp);
    if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(input.creationTimestamp)) {
      throw fieldError(ctx, ["metadata", "creationTimestamp"], "invalid value", "an RFC 3339 time like 2024-05-01T10:00:00Z", input.creationTimestamp);
    }
    out.creationTimestampMs = ms;
  }
  return out;
}

/** A fully qualified DNS name: at least two labels, an optional trailing dot. */
export function isDnsName(text: string): boolean {
  const s = text.endsWith(".") ? text.slice(0, -1) : text;
  if (s.length === 0 || s.length > 253) return false;
  return s.split(".").every((l) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i.test(l) && l.length <= 63);
}

// ---------------------------------------------------------------------------------------------
// Service

export function readService(raw: unknown, ctx: DocContext): ServiceObject {
  const input = parseOrThrow(serviceSchema, raw, ctx);
  const spec = input.spec;
  const metadata = meta(input.metadata, ctx);
  const type = spec.type;

  let clusterIP = spec.clusterIP;
  if ((clusterIP === undefined || clusterIP === "") && spec.clusterIPs && spec.clusterIPs.length > 0) clusterIP = spec.clusterIPs[0];
  if (spec.ipFamilies && spec.ipFamilies[0] === "IPv6") {
    throw fieldError(ctx, ["spec", "ipFamilies"], "IPv6 Services are not modelled", "IPv4 (svcsim models IPv4 only)", spec.ipFamilies);
  }
  if (type === "ExternalName") {
    if (clusterIP !== undefined && clusterIP !== "" && clusterIP !== "None") {
      throw fieldError(ctx, ["spec", "clusterIP"], "an ExternalName Service has no cluster IP", 'no clusterIP (or "")', clusterIP);
    }
    clusterIP = undefined;
    if (spec.externalName === undefined) {
      throw fieldError(ctx, ["spec", "externalName"], "missing field", "a DNS name such as db.example.com for type ExternalName");
    }
    if (!isDnsName(spec.externalName) || !spec.externalName.replace(/\.$/, "").includes(".")) {
      throw fieldError(ctx, ["spec", "externalName"], "invalid value", "a fully qualified DNS name such as db.example.com", spec.externalName);
    }
  } else if (clusterIP !== undefined && clusterIP !== "" && clusterIP !== "None" && tryParseIPv4(clusterIP) === null) {
    throw fieldError(ctx, ["spec", "clusterIP"], "invalid value", 'an IPv4 address, "None" (headless) or "" (allocate)', clusterIP);
  }
  const headless = clusterIP === "None";
  if (headless && (type === "NodePort" || type === "LoadBalancer")) {
    throw fieldError(ctx, ["spec", "clusterIP"], `a ${type} Service cannot be headless`, `an IPv4 address or "" for type ${type}`, clusterIP);
  }

  const portsIn = spec.ports ?? [];
  if (portsIn.length === 0 && type !== "ExternalName" && !headless) {
    throw fieldError(ctx, ["spec", "ports"], "missing field", "at least one port (only headless and ExternalName Services may have none)");
  }
  const names = new Map<string, number>();
  const keys = new Map<string, number>();
  const ports: ServicePortSpec[] = portsIn.map((p, i) => {
    const name = p.name ?? "";
    if (portsIn.length > 1 && name === "") {
      throw fieldError(ctx, ["spec", "ports", i, "name"], "missing field", "a name for every port of a multi-port Service");
    }
    const prevName = names.get(name);
    if (name !== "" && prevName !== undefined) {
      throw fieldError(ctx, ["spec", "ports", i, "name"], `duplicate port name (also spec.ports[${prevName}])`, "unique port names", name);
    }
    names.set(name, i);
    const key = `${p.port}/${p.protocol}`;
    const prevKey = keys.get(key);
    if (prevKey !== undefined) {
      throw fieldError(ctx, ["spec", "ports", i, "port"], `duplicate port and protocol (also spec.ports[${prevKey}])`, "unique port/protocol pairs", key);
    }
    keys.set(key, i);
    if (p.nodePort !== undefined && type !== "NodePort" && type !== "LoadBalancer") {
      throw fieldError(ctx, ["spec", "ports", i, "nodePort"], `a nodePort needs type NodePort or LoadBalancer (type is ${type})`, "no nodePort", p.nodePort);
    }
    const out: ServicePortSpec = { name, protocol: p.protocol, port: p.port, targetPort: p.targetPort ?? p.port };
    if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
    if (p.nodePort !== undefined) out.nodePort = p.nodePort;
    return out;
  });

  const externalTrafficPolicy = spec.externalTrafficPolicy ?? "Cluster";
  if (spec.healthCheckNodePort !== undefined && !(type === "LoadBalancer" && externalTrafficPolicy === "Local")) {
    throw fieldError(
      ctx,
      ["spec", "healthCheckNodePort"],
      "healthCheckNodePort applies only to LoadBalancer Services with externalTrafficPolicy Local",
      "no healthCheckNodePort",
      spec.healthCheckNodePort,
    );
  }

  const ingress: string[] = [];
  (input.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    if (ing.ip !== undefined && tryParseIPv4(ing.ip) !== null) ingress.push(ing.ip);
    else if (ing.hostname !== undefined) {
      ctx.warnings.push(`${ctx.document}: status.loadBalancer.ingress[${i}] is a hostname (${ing.hostname}); only IP ingress is modelled, it is ignored`);
    }
  });

  let selector: Record<string, string> | null = spec.selector ?? null;
  if (selector !== null && Object.keys(selector).length === 0) selector = null;
  if (type === "ExternalName") selector = null;

  const out: ServiceObject = {
    kind: "Service",
    metadata,
    origin: originOf(ctx),
    type,
    headless,
    selector,
    ports,
    externalIPs: spec.externalIPs ?? [],
    loadBalancerSourceRanges: spec.loadBalancerSourceRanges ?? [],
    loadBalancerIngress: type === "LoadBalancer" ? ingress : [],
    externalTrafficPolicy,
    internalTrafficPolicy: spec.internalTrafficPolicy ?? "Cluster",
    allocateLoadBalancerNodePorts: spec.allocateLoadBalancerNodePorts ?? true,
    sessionAffinity: spec.sessionAffinity,
    sessionAffinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
    publishNotReadyAddresses: spec.publishNotReadyAddresses,
  };
  if (clusterIP !== undefined) out.clusterIP = clusterIP;
  if (spec.externalName !== undefined && type === "ExternalName") out.externalName = spec.externalName.replace(/\.$/, "").toLowerCase();
  if (spec.loadBalancerIP !== undefined) out.loadBalancerIP = spec.loadBalancerIP;
  if (spec.healthCheckNodePort !== undefined) out.healthCheckNodePort = spec.healthCheckNodePort;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Deployment

function readSelector(
  input: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[] },
  ctx: DocContext,
  path: (string | number)[],
): LabelSelector {
  const matchExpressions = (input.matchExpressions ?? []).map((r, i) => {
    const values = r.values ?? [];
    if ((r.operator === "In" || r.operator === "NotIn") && values.length === 0) {
      throw fieldError(ctx, [...path, "matchExpressions", i, "values"], "missing field", `at least one value for operator ${r.operator}`);
    }
    if ((r.operator === "Exists" || r.operator === "DoesNotExist") && values.length > 0) {
      throw fieldError(ctx, [...path, "matchExpressions", i, "values"], "invalid value", `no values for operator ${r.operator}`, values);
    }
    return { key: r.key, operator: r.operator, values };
  });
  return { matchLabels: { ...(input.matchLabels ?? {}) }, matchExpressions };
}

function readProbe(p: ProbeInput, ctx: DocContext, path: (string | number)[]): ProbeSpec {
  const handlers = (["exec", "httpGet", "tcpSocket", "grpc"] as const).filter((k) => p[k] !== undefined);
  if (handlers.length !== 1) {
    throw fieldError(ctx, path, handlers.length === 0 ? "a probe needs a handler" : "a probe has one handler only", "exactly one of exec, httpGet, tcpSocket, grpc", handlers);
  }
  let handler: ProbeSpec["handler"];
  if (p.exec) handler = { type: "exec", command: p.exec.command };
  else if (p.httpGet) handler = { type: "httpGet", path: p.httpGet.path, port: p.httpGet.port, scheme: p.httpGet.scheme };
  else if (p.tcpSocket) handler = { type: "tcpSocket", port: p.tcpSocket.port };
  else handler = { type: "grpc", port: p.grpc?.port ?? 0 };
  return {
    handler,
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    successThreshold: p.successThreshold,
    failureThreshold: p.failureThreshold,
  };
}

/** `sleep 5`, `sleep 5s`, `/bin/sh -c "sleep 5"`, `sh -c "sleep 5 && nginx -s quit"` → 5. */
export function sleepSecondsOf(command: readonly string[]): number {
  let text = command.join(" ");
  if (command.length >= 3 && /(^|\/)(ba)?sh$/.test(command[0]) && command[1] === "-c") text = command.slice(2).join(" ");
  const m = /^\s*(?:\/bin\/|\/usr\/bin\/)?sleep\s+(\d+(?:\.\d+)?)s?\s*(?:$|&&|;)/.exec(text);
  return m ? Number(m[1]) : 0;
}

function readPreStop(h: LifecycleHandlerInput, ctx: DocContext, path: (string | number)[]): PreStopSpec {
  const handlers = (["exec", "httpGet", "tcpSocket", "sleep"] as const).filter((k) => h[k] !== undefined);
  if (handlers.length !== 1) {
    throw fieldError(ctx, path, "a preStop hook has exactly one handler", "exactly one of exec, httpGet, tcpSocket, sleep", handlers);
  }
  if (h.sleep) return { type: "sleep", sleepSeconds: h.sleep.seconds };
  if (h.exec) return { type: "exec", sleepSeconds: sleepSecondsOf(h.exec.command), command: h.exec.command };
  return { type: h.httpGet ? "httpGet" : "tcpSocket", sleepSeconds: 0 };
}

function readContainer(c: ContainerInput, ctx: DocContext, path: (string | number)[]): ContainerSpec {
  const out: ContainerSpec = {
    name: c.name,
    ports: c.ports.map((p) => {
      const port: ContainerSpec["ports"][number] = { containerPort: p.containerPort, protocol: p.protocol };
      if (p.name !== undefined) port.name = p.name;
      if (p.hostPort !== undefined) port.hostPort = p.hostPort;
      return port;
    }),
    env: c.env.map((v) => (v.value !== undefined ? { name: v.name, value: v.value } : { name: v.name })),
  };
  if (c.image !== undefined) out.image = c.image;
  if (c.readinessProbe) out.readinessProbe = readProbe(c.readinessProbe, ctx, [...path, "readinessProbe"]);
  if (c.livenessProbe) out.livenessProbe = readProbe(c.livenessProbe, ctx, [...path, "livenessProbe"]);
  if (c.startupProbe) out.startupProbe = readProbe(c.startupProbe, ctx, [...path, "startupProbe"]);
  if (c.lifecycle?.preStop) out.preStop = readPreStop(c.lifecycle.preStop, ctx, [...path, "lifecycle", "preStop"]);
  return out;
}

function checkPercent(v: IntOrPercent, ctx: DocContext, path: (string | number)[]): void {
  if (typeof v === "string" && Number(v.slice(0, -1)) > 100) {
    throw fieldError(ctx, path, "invalid value", "a percentage from 0% to 100%", v);
  }
}

export function readDeployment(raw: unknown, ctx: DocContext): DeploymentObject {
  const input = parseOrThrow(deploymentSchema, raw, ctx);
  const metadata = meta(input.metadata, ctx);
  const spec = input.spec;
  const selector = readSelector(spec.selector, ctx, ["spec", "selector"]);
  if (isEmptySelector(selector)) {
    throw fieldError(ctx, ["spec", "selector"], "empty selector", "matchLabels or matchExpressions (an empty selector is invalid for a Deployment)");
  }
  const tmeta = spec.template.metadata;
  const tlabels = { ...(tmeta.labels ?? {}) };
  if (!matchesLabelSelector(selector, tlabels)) {
    throw fieldError(ctx, ["spec", "selector"], "the selector does not match the pod template's labels", "a selector matching spec.template.metadata.labels", tlabels);
  }
  const tspec = spec.template.spec;
  const containerNames = new Set<string>();
  const portNames = new Set<string>();
  const containers = tspec.containers.map((c, i) => {
    const path = ["spec", "template", "spec", "containers", i];
    if (containerNames.has(c.name)) throw fieldError(ctx, [...path, "name"], "duplicate container name", "unique container names", c.name);
    containerNames.add(c.name);
    c.ports.forEach((p, j) => {
      if (p.name === undefined) return;
      if (portNames.has(p.name)) throw fieldError(ctx, [...path, "ports", j, "name"], "duplicate port name in the pod", "unique port names", p.name);
      portNames.add(p.name);
    });
    return readContainer(c, ctx, path);
  });

  const annotations = { ...(tmeta.annotations ?? {}) };
  const annPath = (k: string) => ["spec", "template", "metadata", "annotations", k];
  let serviceTime: string | undefined;
  if (annotations[SERVICE_TIME_ANNOTATION] !== undefined) {
    try {
      serviceTime = checkDistribution(annotations[SERVICE_TIME_ANNOTATION]);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw fieldError(ctx, annPath(SERVICE_TIME_ANNOTATION), `invalid distribution (${err.message})`, err.expected ?? "a distribution", annotations[SERVICE_TIME_ANNOTATION]);
    }
  }
  let concurrency = 1;
  const concText = annotations[CONCURRENCY_ANNOTATION];
  if (concText !== undefined) {
    if (!/^\d+$/.test(concText.trim()) || Number(concText) < 1 || Number(concText) > 1_000_000) {
      throw fieldError(ctx, annPath(CONCURRENCY_ANNOTATION), "invalid value", 'a positive integer as a string, e.g. "4"', concText);
    }
    concurrency = Number(concText);
  }

  let dnsNdots: number | undefined;
  (tspec.dnsConfig?.options ?? []).forEach((o, i) => {
    if (o.name !== "ndots") return;
    const v = o.value ?? "";
    if (!/^\d+$/.test(v) || Number(v) > 15) {
      throw fieldError(ctx, ["spec", "template", "spec", "dnsConfig", "options", i, "value"], "invalid value", 'an integer from 0 to 15 as a string, e.g. "2"', o.value);
    }
    dnsNdots = Number(v);
  });

  const template: PodSpecTemplate = {
    labels: tlabels,
    annotations,
    containers,
    nodeSelector: { ...(tspec.nodeSelector ?? {}) },
    terminationGracePeriodSeconds: tspec.terminationGracePeriodSeconds,
    enableServiceLinks: tspec.enableServiceLinks,
    hostNetwork: tspec.hostNetwork,
    dnsPolicy: tspec.dnsPolicy,
    dnsSearches: tspec.dnsConfig?.searches ?? [],
    concurrency,
  };
  if (tspec.nodeName !== undefined) template.nodeName = tspec.nodeName;
  if (dnsNdots !== undefined) template.dnsNdots = dnsNdots;
  if (tspec.hostname !== undefined) template.hostname = tspec.hostname;
  if (tspec.subdomain !== undefined) template.subdomain = tspec.subdomain;
  if (serviceTime !== undefined) template.serviceTime = serviceTime;

  let strategy: DeploymentObject["strategy"];
  if (spec.strategy.type === "Recreate") {
    if (spec.strategy.rollingUpdate !== undefined) {
      throw fieldError(ctx, ["spec", "strategy", "rollingUpdate"], "rollingUpdate may not be set with strategy Recreate", "no rollingUpdate", spec.strategy.rollingUpdate);
    }
    strategy = { type: "Recreate" };
  } else {
    const ru = spec.strategy.rollingUpdate ?? { maxSurge: "25%", maxUnavailable: "25%" };
    const maxSurge = ru.maxSurge as IntOrPercent;
    const maxUnavailable = ru.maxUnavailable as IntOrPercent;
    checkPercent(maxUnavailable, ctx, ["spec", "strategy", "rollingUpdate", "maxUnavailable"]);
    const zero = (v: IntOrPercent) => v === 0 || v === "0%";
    if (zero(maxSurge) && zero(maxUnavailable)) {
      throw fieldError(ctx, ["spec", "strategy", "rollingUpdate", "maxUnavailable"], "maxSurge and maxUnavailable are both 0", "maxUnavailable above 0 when maxSurge is 0", maxUnavailable);
    }
    strategy = { type: "RollingUpdate", maxSurge, maxUnavailable };
  }

  return {
    kind: "Deployment",
    metadata,
    origin: originOf(ctx),
    replicas: spec.replicas,
    selector,
    template,
    strategy,
    minReadySeconds: spec.minReadySeconds,
    progressDeadlineSeconds: spec.progressDeadlineSeconds,
    revisionHistoryLimit: spec.revisionHistoryLimit,
    paused: spec.paused,
  };
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice and Endpoints

/** The managed-by label of a raw slice, read before validation decides its fate. */
export function managedByOf(raw: unknown): string | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const labels = (raw as { metadata?: { labels?: Record<string, unknown> } }).metadata?.labels;
  const v = labels?.[MANAGED_BY_LABEL];
  return typeof v === "string" ? v : undefined;
}

/** Returns null for slices svcsim does not model (IPv6, FQDN), with a warning. */
export function readEndpointSlice(raw: unknown, ctx: DocContext): EndpointSliceObject | null {
  const input = parseOrThrow(endpointSliceSchema, raw, ctx);
  const metadata = meta(input.metadata, ctx);
  const serviceName = metadata.labels[SERVICE_NAME_LABEL];
  if (serviceName === undefined) {
    throw fieldError(ctx, ["metadata", "labels"], `missing label ${SERVICE_NAME_LABEL}`, `the label ${SERVICE_NAME_LABEL}: <Service name>`);
  }
  if (input.addressType !== "IPv4") {
    ctx.warnings.push(`${ctx.document}: addressType ${input.addressType} is not modelled (IPv4 only); the EndpointSlice is skipped`);
    return null;
  }
  const ports = input.ports.map((p, i) => {
    if (p.port === undefined) {
      throw fieldError(ctx, ["ports", i, "port"], "missing field", "a port number (svcsim does not model port-less slices)");
    }
    const out: EndpointSliceObject["ports"][number] = { name: p.name, protocol: p.protocol, port: p.port };
    if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
    return out;
  });
  const endpoints = input.endpoints.map((ep, i) => {
    ep.addresses.forEach((a, j) => {
      if (tryParseIPv4(a) === null) throw fieldError(ctx, ["endpoints", i, "addresses", j], "invalid value", "an IPv4 address", a);
    });
    const ready = ep.conditions.ready ?? true;
    const out: EndpointSliceObject["endpoints"][number] = {
      addresses: ep.addresses,
      conditions: { ready, serving: ep.conditions.serving ?? ready, terminating: ep.conditions.terminating ?? false },
    };
    if (ep.nodeName !== undefined) out.nodeName = ep.nodeName;
    if (ep.zone !== undefined) out.zone = ep.zone;
    if (ep.hostname !== undefined) out.hostname = ep.hostname;
    if (ep.targetRef !== undefined) {
      out.targetRef = { kind: ep.targetRef.kind, name: ep.targetRef.name };
      if (ep.targetRef.namespace !== undefined) out.targetRef.namespace = ep.targetRef.namespace;
    }
    return out;
  });
  const out: EndpointSliceObject = { kind: "EndpointSlice", metadata, origin: originOf(ctx), serviceName, addressType: "IPv4", ports, endpoints };
  const managedBy = metadata.labels[MANAGED_BY_LABEL];
  if (managedBy !== undefined) out.managedBy = managedBy;
  return out;
}

export function readEndpoints(raw: unknown, ctx: DocContext): EndpointsObject {
  const input = parseOrThrow(endpointsSchema, raw, ctx);
  const metadata = meta(input.metadata, ctx);
  const addr = (a: (typeof input.subsets)[number]["addresses"][number]) => {
    const out: EndpointsObject["subsets"][number]["addresses"][number] = { ip: a.ip };
    if (a.nodeName !== undefined) out.nodeName = a.nodeName;
    if (a.hostname !== undefined) out.hostname = a.hostname;
    if (a.targetRef !== undefined) {
      out.targetRef = { kind: a.targetRef.kind, name: a.targetRef.name };
      if (a.targetRef.namespace !== undefined) out.targetRef.namespace = a.targetRef.namespace;
    }
    return out;
  };
  return {
    kind: "Endpoints",
    metadata,
    origin: originOf(ctx),
    subsets: input.subsets.map((s, i) => {
      if (s.ports.length > 1 && s.ports.some((p) => p.name === "")) {
        const j = s.ports.findIndex((p) => p.name === "");
        throw fieldError(ctx, ["subsets", i, "ports", j, "name"], "missing field", "a name for every port of a multi-port subset");
      }
      return { addresses: s.addresses.map(addr), notReadyAddresses: s.notReadyAddresses.map(addr), ports: s.ports };
    }),
  };
}
