import { describe, expect, test } from "vitest";
import { formatIPv4 } from "../network/ip.js";
import type { ContainerSpec, PodSpecTemplate } from "../scenario/types.js";
import { endpointConditions, endpointSlicesForService, PodIndex, slicesFromEndpoints } from "./endpointSlices.js";
import type { PodState } from "./resolved.js";
import type { ServiceState } from "./types.js";

function template(ports: ContainerSpec["ports"] = [{ name: "http", containerPort: 8080, protocol: "TCP" }]): PodSpecTemplate {
  return {
    labels: { app: "web" },
    annotations: {},
    containers: [{ name: "c", ports, env: [] }],
    nodeSelector: {},
    terminationGracePeriodSeconds: 30,
    enableServiceLinks: true,
    hostNetwork: false,
    dnsPolicy: "ClusterFirst",
    dnsSearches: [],
    concurrency: 1,
  };
}

function pod(i: number, over: Partial<PodState> = {}): PodState {
  return {
    namespace: "default",
    name: `web-${i}`,
    uid: `uid-${i}`,
    labels: { app: "web" },
    annotations: {},
    nodeName: `node-${(i % 3) + 1}`,
    ip: formatIPv4(0x0af40000 + 2 + i),
    hostIP: "172.18.0.3",
    owner: null,
    phase: "Running",
    ready: true,
    terminating: false,
    startedAtMs: 0,
    spec: template(),
    ...over,
  };
}

function service(over: Partial<ServiceState> = {}): ServiceState {
  return {
    namespace: "default",
    name: "web",
    type: "ClusterIP",
    clusterIP: "10.96.1.1",
    headless: false,
    ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: "http" }],
    selector: { app: "web" },
    externalIPs: [],
    loadBalancerIngress: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: "Cluster",
    internalTrafficPolicy: "Cluster",
    sessionAffinity: "None",
    sessionAffinityTimeoutSeconds: 10800,
    publishNotReadyAddresses: false,
    ...over,
  };
}

describe("endpointSlicesForService", () => {
  test("250 pods make 3 slices of at most 100 endpoints", () => {
    const pods = Array.from({ length: 250 }, (_, i) => pod(i));
    const slices = endpointSlicesForService(service(), pods);
    expect(slices.map((s) => s.endpoints.length)).toEqual([100, 100, 50]);
    expect(new Set(slices.map((s) => s.name)).size).toBe(3);
    for (const s of slices) {
      expect(s.name).toMatch(/^web-[bcdfghjkmnpqrstvwxz2456789]{5}$/);
      expect(s.serviceName).toBe("web");
      expect(s.ports).toEqual([{ name: "http", protocol: "TCP", port: 8080 }]);
    }
    const all = slices.flatMap((s) => s.endpoints.map((e) => e.address));
    expect(new Set(all).size).toBe(250);
  });

  test("exactly 100 pods fit one slice; 101 need two", () => {
    expect(endpointSlicesForService(service(), Array.from({ length: 100 }, (_, i) => pod(i)))).toHaveLength(1);
    expect(endpointSlicesForService(service(), Array.from({ length: 101 }, (_, i) => pod(i)))).toHaveLength(2);
  });

  test("conditions: ready, not ready, terminating (serving or not)", () => {
    const pods = [pod(0), pod(1, { ready: false }), pod(2, { terminating: true }), pod(3, { terminating: true, ready: false })];
    const eps = endpointSlicesForService(service(), pods)[0].endpoints;
    expect(eps.map((e) => e.conditions)).toEqual([
      { ready: true, serving: true, terminating: false },
      { ready: false, serving: false, terminating: false },
      { ready: false, serving: true, terminating: true },
      { ready: false, serving: false, terminating: true },
    ]);
  });

  test("publishNotReadyAddresses makes every endpoint ready, terminating or not", () => {
    const p = pod(0, { ready: false, terminating: true });
    expect(endpointConditions(p, true)).toEqual({ ready: true, serving: false, terminating: true });
  });

  test("pods without an IP, finished pods, other namespaces and other labels are not endpoints", () => {
    const pods = [
      pod(0),
      pod(1, { ip: null, nodeName: null, phase: "Pending", ready: false }),
      pod(2, { phase: "Succeeded" }),
      pod(3, { namespace: "other" }),
      pod(4, { labels: { app: "api" } }),
    ];
    const eps = endpointSlicesForService(service(), pods)[0].endpoints;
    expect(eps.map((e) => e.targetRef?.name)).toEqual(["web-0"]);
  });

  test("endpoints carry nodeName, zone and the pod reference", () => {
    const ep = endpointSlicesForService(service(), [pod(1)], { zoneOf: (n) => (n === "node-2" ? "zone-b" : undefined) })[0].endpoints[0];
    expect(ep).toEqual({
      address: "10.244.0.3",
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: "node-2",
      zone: "zone-b",
      targetRef: { kind: "Pod", namespace: "default", name: "web-1" },
    });
  });

  test("a named targetPort resolving differently splits the pods into slices by port", () => {
    const pods = [
      pod(0),
      pod(1, { spec: template([{ name: "http", containerPort: 9090, protocol: "TCP" }]) }),
      pod(2),
      pod(3, { spec: template([{ name: "metrics", containerPort: 9100, protocol: "TCP" }]) }),
    ];
    const slices = endpointSlicesForService(service(), pods);
    expect(slices.map((s) => [s.ports.map((p) => p.port), s.endpoints.map((e) => e.targetRef?.name)])).toEqual([
      [[8080], ["web-0", "web-2"]],
      [[9090], ["web-1"]],
      [[], ["web-3"]],
    ]);
  });

  test("a numeric targetPort needs no container port; UDP names match only UDP ports", () => {
    const svc = service({ ports: [{ name: "dns", protocol: "UDP", port: 53, targetPort: "http" }] });
    expect(endpointSlicesForService(svc, [pod(0)])[0].ports).toEqual([]);
    const num = service({ ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 7777 }] });
    expect(endpointSlicesForService(num, [pod(0)])[0].ports).toEqual([{ name: "", protocol: "TCP", port: 7777 }]);
  });

  test("a selector Service without pods keeps one empty slice; no selector or ExternalName gets none", () => {
    const empty = endpointSlicesForService(service(), []);
    expect(empty).toHaveLength(1);
    expect(empty[0].endpoints).toEqual([]);
    expect(endpointSlicesForService(service({ selector: null }), [pod(0)])).toEqual([]);
    expect(endpointSlicesForService(service({ type: "ExternalName", clusterIP: null }), [pod(0)])).toEqual([]);
  });
});

describe("slicesFromEndpoints", () => {
  test("one slice per port set, ready and not-ready addresses", () => {
    const slices = slicesFromEndpoints({
      kind: "Endpoints",
      metadata: { namespace: "default", name: "db", labels: {}, annotations: {} },
      origin: { file: "f", document: "d", pathPrefix: "" },
      subsets: [
        { addresses: [{ ip: "192.0.2.1" }], notReadyAddresses: [{ ip: "192.0.2.2" }], ports: [{ name: "", protocol: "TCP", port: 5432 }] },
        { addresses: [{ ip: "192.0.2.3" }], notReadyAddresses: [], ports: [{ name: "", protocol: "TCP", port: 5433 }] },
      ],
    });
    expect(slices.map((s) => [s.ports[0].port, s.endpoints.map((e) => `${e.address}:${e.conditions.ready}`)])).toEqual([
      [5432, ["192.0.2.1:true", "192.0.2.2:false"]],
      [5433, ["192.0.2.3:true"]],
    ]);
  });
});

describe("PodIndex", () => {
  test("finds a Service's pods through its rarest label pair, in insertion order, and forgets removed pods", () => {
    const a = pod(0, { labels: { app: "web", tier: "a" } });
    const b = pod(1, { labels: { app: "web", tier: "b" } });
    const c = pod(2, { labels: { app: "web", tier: "a" }, namespace: "other" });
    const index = new PodIndex([a, b, c]);
    expect(index.selectedBy(service({ selector: { app: "web" } }))).toEqual([a, b]);
    expect(index.selectedBy(service({ selector: { app: "web", tier: "a" } }))).toEqual([a]);
    expect(index.selectedBy(service({ selector: null }))).toEqual([]);
    index.remove(a);
    expect(index.selectedBy(service({ selector: { app: "web" } }))).toEqual([b]);
  });
});
