import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, test } from "vitest";
import { loadScenario, parseScenario } from "../scenario/load.js";
import { describeList } from "./describe.js";
import { resolveCluster } from "./resolve.js";

type Item = {
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
};

describe("describeList on the contract example", () => {
  const resolved = resolveCluster(loadScenario(join(import.meta.dirname, "../../test/fixtures/contract.yaml")));
  const list = JSON.parse(JSON.stringify(describeList(resolved))) as { kind: string; apiVersion: string; items: Item[] };

  test("is a v1 List that survives JSON", () => {
    expect(list.kind).toBe("List");
    expect(list.apiVersion).toBe("v1");
  });

  test("Services carry their allocations", () => {
    const s = Object.fromEntries(list.items.filter((i) => i.kind === "Service").map((i) => [i.metadata.name, i]));
    expect(Object.keys(s).sort()).toEqual(["shop", "shop-public"]);
    expect(String(s.shop.spec?.clusterIP)).toMatch(/^10\./);
    expect(s.shop.spec?.clusterIPs).toEqual([s.shop.spec?.clusterIP]);
    const np = (s["shop-public"].spec?.ports as { nodePort: number }[])[0].nodePort;
    expect(np).toBeGreaterThanOrEqual(30000);
    expect(np).toBeLessThanOrEqual(32767);
  });

  test("the scenario's 3 pods, each with a node, an IP and the Service variables", () => {
    const pods = list.items.filter((i) => i.kind === "Pod");
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.spec?.nodeName).toBeTruthy();
      expect(p.status?.podIP).toBeTruthy();
      expect(p.status?.phase).toBe("Running");
      const env = (p.spec?.containers as { env: { name: string; value: string }[] }[])[0].env;
      const names = env.map((e) => e.name);
      expect(names).toContain("SHOP_SERVICE_HOST");
      expect(names).toContain("SHOP_PUBLIC_SERVICE_PORT_HTTP");
      expect(names).toContain("KUBERNETES_SERVICE_HOST");
      expect(env.find((e) => e.name === "SHOP_SERVICE_HOST")?.value).toBe(resolved.state.services.find((x) => x.name === "shop")?.clusterIP);
    }
  });

  test("EndpointSlices as the controller writes them", () => {
    const slices = list.items.filter((i) => i.kind === "EndpointSlice");
    expect(slices).toHaveLength(2);
    for (const sl of slices) {
      expect(sl.apiVersion).toBe("discovery.k8s.io/v1");
      expect(sl.metadata.labels?.["endpointslice.kubernetes.io/managed-by"]).toBe("endpointslice-controller.k8s.io");
      const eps = sl.endpoints as { addresses: string[]; conditions: Record<string, boolean>; nodeName: string; targetRef: { kind: string } }[];
      expect(eps).toHaveLength(3);
      expect(eps[0].conditions).toEqual({ ready: true, serving: true, terminating: false });
      expect(eps[0].targetRef.kind).toBe("Pod");
      expect(eps[0].nodeName).toMatch(/^node-/);
    }
  });

  test("includeSystem adds kubernetes, kube-dns, the CoreDNS pods and their slices", () => {
    const all = describeList(resolved, { includeSystem: true }) as { items: Item[] };
    const names = all.items.map((i) => `${i.kind}/${i.metadata.namespace}/${i.metadata.name}`);
    expect(names).toContain("Service/default/kubernetes");
    expect(names).toContain("Service/kube-system/kube-dns");
    expect(names).toContain("EndpointSlice/default/kubernetes");
    expect(all.items.filter((i) => i.kind === "Pod" && i.metadata.namespace === "kube-system")).toHaveLength(2);
  });
});

describe("describeList of every Service kind", () => {
  const resolved = resolveCluster(
    parseScenario(
      `
apiVersion: v1
kind: Service
metadata: {name: lb}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, sessionAffinity: ClientIP, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: hl}
spec: {clusterIP: None, selector: {app: x}}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: db.example.com}
`,
      "kinds.yaml",
    ),
  );
  const items = (describeList(resolved) as { items: Item[] }).items;
  const svc = (n: string) => items.find((i) => i.kind === "Service" && i.metadata.name === n) as Item;

  test("LoadBalancer: ingress in status, health check port, affinity config", () => {
    expect(svc("lb").status).toEqual({ loadBalancer: { ingress: [{ ip: "203.0.113.1", ipMode: "VIP" }] } });
    expect(svc("lb").spec).toMatchObject({
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      allocateLoadBalancerNodePorts: true,
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    });
    expect(typeof svc("lb").spec?.healthCheckNodePort).toBe("number");
  });

  test("headless shows clusterIP None; ExternalName shows no cluster IP", () => {
    expect(svc("hl").spec).toMatchObject({ clusterIP: "None", clusterIPs: ["None"] });
    expect(svc("ext").spec).toEqual({ externalName: "db.example.com", sessionAffinity: "None", type: "ExternalName" });
  });

  test("the List reads back as a scenario with the same allocations", () => {
    const again = parseScenario(stringify(describeList(resolved)), "again.yaml");
    expect(again.services.map((s) => [s.metadata.name, s.clusterIP])).toEqual([
      ["ext", undefined],
      ["hl", "None"],
      ["lb", resolved.state.services.find((s) => s.name === "lb")?.clusterIP],
    ]);
    expect(again.warnings).toEqual([]);
  });
});
