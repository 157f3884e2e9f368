import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { InputError } from "../../sim/errors.js";
import { loadScenario, parseScenario } from "../scenario/load.js";
import { resolveCluster } from "./resolve.js";
import type { ResolvedCluster } from "./resolved.js";

const fixtures = join(import.meta.dirname, "../../test/fixtures");

function resolve(text: string): ResolvedCluster {
  return resolveCluster(parseScenario(text, "t.yaml"));
}

function error(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("no InputError thrown");
}

function deployment(name: string, replicas: number, extra = "", ports = "[{name: http, containerPort: 8080}]"): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      ${extra}
      containers: [{name: c, image: img, ports: ${ports}}]
---`;
}

function svc(r: ResolvedCluster, name: string, ns = "default") {
  const s = r.state.services.find((x) => x.name === name && x.namespace === ns);
  if (!s) throw new Error(`no Service ${ns}/${name}`);
  return s;
}

function slicesOf(r: ResolvedCluster, name: string, ns = "default") {
  return r.state.endpointSlices.filter((x) => x.serviceName === name && x.namespace === ns);
}

const cluster3 = `apiVersion: svcsim.dev/v1\nkind: Cluster\nspec: {nodes: 3}\n---`;

describe("each Service kind", () => {
  const r = resolve(`${cluster3}
${deployment("web", 3)}
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 443, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {type: ExternalName, externalName: db.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: legacy}
spec: {ports: [{name: pg, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: legacy-1, labels: {kubernetes.io/service-name: legacy}}
addressType: IPv4
ports: [{name: pg, port: 5432}]
endpoints:
- addresses: [192.0.2.10]
- addresses: [192.0.2.11]
  conditions: {ready: false}
`);

  test("ClusterIP: a virtual IP from the dynamic band of the range, slices with the pods' named port", () => {
    const s = svc(r, "web");
    expect(s.type).toBe("ClusterIP");
    expect(s.clusterIP).toBe("10.96.1.1");
    expect(s.ports[0]).toEqual({ name: "http", protocol: "TCP", port: 80, targetPort: "http" });
    const slices = slicesOf(r, "web");
    expect(slices).toHaveLength(1);
    expect(slices[0].ports).toEqual([{ name: "http", protocol: "TCP", port: 8080 }]);
    expect(slices[0].endpoints).toHaveLength(3);
    expect(slices[0].endpoints.every((e) => e.conditions.ready && e.conditions.serving && !e.conditions.terminating)).toBe(true);
  });

  test("NodePort: a port from the dynamic band of 30000-32767, on top of a cluster IP", () => {
    const s = svc(r, "web-np");
    expect(s.clusterIP).toBe("10.96.1.2");
    expect(s.ports[0].nodePort).toBe(30086);
  });

  test("LoadBalancer: nodePort, an ingress IP from the fake cloud, a health check port under Local", () => {
    const s = svc(r, "web-lb");
    expect(s.ports[0].nodePort).toBe(30087);
    expect(s.loadBalancerIngress).toEqual(["203.0.113.1"]);
    expect(s.externalTrafficPolicy).toBe("Local");
    expect(s.healthCheckNodePort).toBe(30088);
  });

  test("ExternalName: no cluster IP, no endpoints", () => {
    const s = svc(r, "db");
    expect(s.clusterIP).toBeNull();
    expect(s.externalName).toBe("db.example.com");
    expect(slicesOf(r, "db")).toEqual([]);
  });

  test("headless: no cluster IP, but slices of the ready pods", () => {
    const s = svc(r, "web-headless");
    expect(s.headless).toBe(true);
    expect(s.clusterIP).toBeNull();
    expect(slicesOf(r, "web-headless")[0].endpoints).toHaveLength(3);
    expect(r.sliceInfo.get(`default/${slicesOf(r, "web-headless")[0].name}`)?.labels["service.kubernetes.io/headless"]).toBe("");
  });

  test("without a selector: the hand-written slice, as written (even outside the cluster)", () => {
    const s = svc(r, "legacy");
    expect(s.selector).toBeNull();
    expect(s.clusterIP).not.toBeNull();
    const slices = slicesOf(r, "legacy");
    expect(slices).toHaveLength(1);
    expect(slices[0].name).toBe("legacy-1");
    expect(slices[0].endpoints.map((e) => [e.address, e.conditions.ready])).toEqual([
      ["192.0.2.10", true],
      ["192.0.2.11", false],
    ]);
    expect(r.sliceInfo.get("default/legacy-1")?.managedBy).toBeNull();
  });

  test("the built-in kubernetes and kube-dns Services come first, at .1 and .10", () => {
    expect(r.state.services.slice(0, 2).map((s) => [s.namespace, s.name, s.clusterIP])).toEqual([
      ["default", "kubernetes", "10.96.0.1"],
      ["kube-system", "kube-dns", "10.96.0.10"],
    ]);
    expect(r.dns.clusterIP).toBe("10.96.0.10");
    expect(slicesOf(r, "kubernetes")[0].endpoints[0].address).toBe(r.apiServer.ip);
    const coredns = r.pods.filter((p) => p.namespace === "kube-system");
    expect(coredns).toHaveLength(2);
    expect(slicesOf(r, "kube-dns", "kube-system")[0].endpoints.map((e) => e.address).sort()).toEqual(coredns.map((p) => p.ip).sort());
    expect(slicesOf(r, "kube-dns", "kube-system")[0].ports).toEqual([
      { name: "dns", protocol: "UDP", port: 53 },
      { name: "dns-tcp", protocol: "TCP", port: 53 },
      { name: "metrics", protocol: "TCP", port: 9153 },
    ]);
  });
});

describe("Endpoints (v1) of a Service without a selector", () => {
  test("are mirrored into slices: ready and not-ready addresses", () => {
    const r = resolve(`
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {ports: [{port: 3306}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext}
subsets:
- addresses: [{ip: 198.51.100.7}]
  notReadyAddresses: [{ip: 198.51.100.8}]
  ports: [{port: 3306}]
`);
    const slices = slicesOf(r, "ext");
    expect(slices).toHaveLength(1);
    expect(slices[0].endpoints.map((e) => [e.address, e.conditions.ready])).toEqual([
      ["198.51.100.7", true],
      ["198.51.100.8", false],
    ]);
    expect(r.sliceInfo.get(`default/${slices[0].name}`)?.managedBy).toBe("endpointslicemirroring-controller.k8s.io");
  });
});

describe("Service details carried into the state", () => {
  test("multi-port, sessionAffinity ClientIP with its timeout, internalTrafficPolicy, publishNotReadyAddresses", () => {
    const r = resolve(`${deployment("app", 2, "", "[{name: http, containerPort: 8080}, {name: grpc, containerPort: 9090}]")}
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: app}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  internalTrafficPolicy: Local
  publishNotReadyAddresses: true
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: grpc, port: 9000, targetPort: grpc}
  - {name: dns, port: 53, protocol: UDP}
`);
    const s = svc(r, "app");
    expect(s.sessionAffinity).toBe("ClientIP");
    expect(s.sessionAffinityTimeoutSeconds).toBe(60);
    expect(s.internalTrafficPolicy).toBe("Local");
    expect(s.publishNotReadyAddresses).toBe(true);
    expect(s.ports.map((p) => [p.name, p.protocol, p.port, p.targetPort])).toEqual([
      ["http", "TCP", 80, "http"],
      ["grpc", "TCP", 9000, "grpc"],
      ["dns", "UDP", 53, 53],
    ]);
    expect(slicesOf(r, "app")[0].ports).toEqual([
      { name: "http", protocol: "TCP", port: 8080 },
      { name: "grpc", protocol: "TCP", port: 9090 },
      { name: "dns", protocol: "UDP", port: 53 },
    ]);
  });

  test("a UDP and a TCP port with one number share one nodePort", () => {
    const r = resolve(`
apiVersion: v1
kind: Service
metadata: {name: dns}
spec: {type: NodePort, ports: [{name: u, port: 53, protocol: UDP}, {name: t, port: 53, protocol: TCP}]}
`);
    const [u, t] = svc(r, "dns").ports;
    expect(u.nodePort).toBe(t.nodePort);
  });

  test("allocateLoadBalancerNodePorts: false leaves the ports without nodePorts", () => {
    const r = resolve(`
apiVersion: v1
kind: Service
metadata: {name: lb}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
`);
    expect(svc(r, "lb").ports[0].nodePort).toBeUndefined();
    expect(svc(r, "lb").loadBalancerIngress).toEqual(["203.0.113.1"]);
  });
});

describe("allocation", () => {
  test("explicit clusterIPs, nodePorts and loadBalancerIP are honoured; dynamic ones avoid them", () => {
    const r = resolve(`
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: LoadBalancer, clusterIP: 10.96.1.1, loadBalancerIP: 203.0.113.1, ports: [{port: 80, nodePort: 30086}]}
`);
    expect(svc(r, "b")).toMatchObject({ clusterIP: "10.96.1.1", loadBalancerIngress: ["203.0.113.1"] });
    expect(svc(r, "b").ports[0].nodePort).toBe(30086);
    expect(svc(r, "a")).toMatchObject({ clusterIP: "10.96.1.2", loadBalancerIngress: ["203.0.113.2"] });
    expect(svc(r, "a").ports[0].nodePort).toBe(30087);
  });

  test("an explicit address in the lower (static) band is honoured; the built-ins move on if it takes theirs", () => {
    const r = resolve(`
apiVersion: v1
kind: Service
metadata: {name: mine}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
`);
    expect(svc(r, "mine").clusterIP).toBe("10.96.0.10");
    expect(svc(r, "kube-dns", "kube-system").clusterIP).toBe("10.96.1.1");
  });

  test("a clusterIP taken twice, outside the range, or the network address is refused, naming the field", () => {
    const twice = error(() =>
      resolve(`apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.3.3, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {clusterIP: 10.96.3.3, ports: [{port: 80}]}\n`),
    );
    expect(twice.format()).toContain("document 2 (Service/b): spec.clusterIP: clusterIP 10.96.3.3 is already allocated to Service default/a");
    const outside = error(() => resolve(`apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}\n`));
    expect(outside.format()).toContain("spec.clusterIP: clusterIP 10.0.0.1 is outside serviceClusterIPRange 10.96.0.0/12");
    const network = error(() => resolve(`apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.0, ports: [{port: 80}]}\n`));
    expect(network.fieldPath).toBe("spec.clusterIP");
  });

  test("a /30 range holds two addresses: the built-ins take them, the next Service exhausts it", () => {
    const base = `apiVersion: svcsim.dev/v1\nkind: Cluster\nspec: {nodes: 1, serviceClusterIPRange: 10.96.0.0/30}\n---\n`;
    const none = resolve(base);
    expect(none.state.services.map((s) => s.clusterIP)).toEqual(["10.96.0.1", "10.96.0.2"]);
    const e = error(() => resolve(`${base}apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n`));
    expect(e.fieldPath).toBe("spec.clusterIP");
    expect(e.format()).toContain("serviceClusterIPRange 10.96.0.0/30 is exhausted (2 allocatable addresses");
  });

  test("a /29 range (6 addresses): 4 Services fit besides the built-ins, the 5th does not", () => {
    const services = (n: number) =>
      Array.from({ length: n }, (_, i) => `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}}\nspec: {ports: [{port: 80}]}\n`).join("---\n");
    const base = `apiVersion: svcsim.dev/v1\nkind: Cluster\nspec: {nodes: 1, serviceClusterIPRange: 10.96.0.0/29}\n---\n`;
    const ok = resolve(base + services(4));
    expect(ok.state.services.map((s) => s.clusterIP)).toEqual(["10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6"]);
    expect(error(() => resolve(base + services(5))).format()).toContain("document 6 (Service/s4): spec.clusterIP");
  });

  test("duplicate nodePorts and health check ports are refused", () => {
    const e = error(() =>
      resolve(`
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 31000, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: NodePort, ports: [{port: 80, nodePort: 31000}]}
`),
    );
    expect(e.format()).toContain("document 2 (Service/b): spec.ports[0].nodePort: nodePort 31000 is already allocated to Service default/a");
  });

  test("an exhausted NodePort range is refused", () => {
    const e = error(() =>
      resolve(`
apiVersion: svcsim.dev/v1
kind: Cluster
spec: {nodes: 1, serviceNodePortRange: 30000-30001}
---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: NodePort, ports: [{name: a, port: 80}, {name: b, port: 81}, {name: c, port: 82}]}
`),
    );
    expect(e.fieldPath).toBe("spec.ports[2].nodePort");
    expect(e.format()).toContain("serviceNodePortRange 30000-30001 is exhausted");
  });

  test("allocation is deterministic: the same scenario resolves the same", () => {
    const text = `${cluster3}\n${deployment("web", 5)}\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}\n`;
    const a = resolve(text);
    const b = resolve(text);
    expect(JSON.stringify(a.state)).toBe(JSON.stringify(b.state));
    expect(a.pods.map((p) => p.name)).toEqual(b.pods.map((p) => p.name));
  });
});

describe("nodes and pods", () => {
  test("nodes: names, zones round-robin, IPs outside the cluster ranges, successive /24 podCIDRs, labels", () => {
    const r = resolve(cluster3);
    expect(r.nodes.map((n) => [n.name, n.zone, n.ip, n.podCIDR])).toEqual([
      ["node-1", "zone-a", "172.18.0.3", "10.244.0.0/24"],
      ["node-2", "zone-b", "172.18.0.4", "10.244.1.0/24"],
      ["node-3", "zone-c", "172.18.0.5", "10.244.2.0/24"],
    ]);
    expect(r.apiServer).toEqual({ ip: "172.18.0.2", port: 6443 });
    expect(r.nodes[1].labels).toMatchObject({
      "kubernetes.io/hostname": "node-2",
      "topology.kubernetes.io/zone": "zone-b",
      "kubernetes.io/os": "linux",
    });
  });

  test("the node network moves away from a clusterCIDR that overlaps 172.18.0.0/16", () => {
    const r = resolve(`apiVersion: svcsim.dev/v1\nkind: Cluster\nspec: {nodes: 2, clusterCIDR: 172.16.0.0/12}\n`);
    expect(r.nodes[0].ip).toBe("192.168.0.3");
    expect(r.nodes[1].podCIDR).toBe("172.16.1.0/24");
  });

  test("pods: deterministic names <deploy>-<hash>-<5>, spread evenly, IPs from their node's podCIDR", () => {
    const r = resolve(`${cluster3}\n${deployment("web", 6)}`);
    const pods = r.pods.filter((p) => p.owner?.deployment === "web");
    expect(pods).toHaveLength(6);
    const hash = pods[0].labels["pod-template-hash"];
    for (const p of pods) {
      expect(p.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjkmnpqrstvwxz2456789]{5}$`));
      expect(p.phase).toBe("Running");
      expect(p.ready).toBe(true);
      const node = r.nodes.find((n) => n.name === p.nodeName);
      expect(p.ip?.startsWith(node?.podCIDR.replace(/0\/24$/, "") ?? "?")).toBe(true);
      expect(p.hostIP).toBe(node?.ip);
    }
    expect(new Set(pods.map((p) => p.name)).size).toBe(6);
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.nodeName ?? "", (perNode.get(p.nodeName ?? "") ?? 0) + 1);
    expect([...perNode.values()]).toEqual([2, 2, 2]);
  });

  test("nodeName and nodeSelector are honoured; pods that fit nowhere stay Pending with a warning", () => {
    const r = resolve(`
apiVersion: svcsim.dev/v1
kind: Cluster
spec:
  nodes:
  - {name: a, zone: z1}
  - {name: b, zone: z2, labels: {disk: ssd}}
  - {name: c, zone: z2}
---
${deployment("pinned", 2, "nodeName: c")}
${deployment("ssd", 3, "nodeSelector: {disk: ssd}")}
${deployment("zoned", 4, "nodeSelector: {topology.kubernetes.io/zone: z2}")}
${deployment("nowhere", 1, "nodeSelector: {gpu: 'true'}")}
`);
    const nodesOf = (d: string) => r.pods.filter((p) => p.owner?.deployment === d).map((p) => p.nodeName);
    expect(nodesOf("pinned")).toEqual(["c", "c"]);
    expect(nodesOf("ssd")).toEqual(["b", "b", "b"]);
    expect(nodesOf("zoned").sort()).toEqual(["b", "b", "c", "c"]);
    const nowhere = r.pods.find((p) => p.owner?.deployment === "nowhere");
    expect(nowhere).toMatchObject({ phase: "Pending", nodeName: null, ip: null, ready: false });
    expect(r.warnings.some((w) => w.includes("Deployment default/nowhere") && w.includes("Pending"))).toBe(true);
  });

  test("maxPodsPerNode bounds the pods on a node", () => {
    const r = resolve(`apiVersion: svcsim.dev/v1\nkind: Cluster\nspec: {nodes: 2, maxPodsPerNode: 3}\n---\n${deployment("web", 6)}`);
    // 2 CoreDNS pods + 4 of web fit; 2 stay Pending.
    expect(r.pods.filter((p) => p.phase === "Pending")).toHaveLength(2);
  });

  test("too many nodes for clusterCIDR's /24s is refused", () => {
    const e = error(() => resolve(`apiVersion: svcsim.dev/v1\nkind: Cluster\nspec: {nodes: 5, clusterCIDR: 10.244.0.0/22}\n`));
    expect(e.format()).toContain("spec.nodes: clusterCIDR 10.244.0.0/22 has room for 4 node podCIDRs of /24");
  });
});

describe("the kubectl List of a real cluster", () => {
  const r = resolveCluster(loadScenario(join(fixtures, "kubectl-list.yaml")));

  test("keeps its allocations and adds no second kube-dns or CoreDNS", () => {
    expect(r.state.services.map((s) => [s.name, s.clusterIP])).toEqual([
      ["kubernetes", "10.96.0.1"],
      ["web", "10.96.214.71"],
      ["web-lb", "10.96.57.3"],
      ["kube-dns", "10.96.0.10"],
    ]);
    const lb = svc(r, "web-lb");
    expect(lb.ports[0].nodePort).toBe(31380);
    expect(lb.healthCheckNodePort).toBe(32001);
    expect(lb.loadBalancerIngress).toEqual(["172.18.255.200"]);
    expect(r.deployments.filter((d) => d.system)).toEqual([]);
    expect(r.services.filter((s) => s.system)).toEqual([]);
  });

  test("regenerates the controller's slices from its pods and keeps the API server's", () => {
    expect(slicesOf(r, "web")[0].endpoints).toHaveLength(3);
    expect(slicesOf(r, "web")[0].ports).toEqual([{ name: "http", protocol: "TCP", port: 80 }]);
    expect(slicesOf(r, "kube-dns", "kube-system")[0].endpoints).toHaveLength(2);
    expect(slicesOf(r, "kubernetes")).toEqual([
      {
        namespace: "default",
        name: "kubernetes",
        serviceName: "kubernetes",
        addressType: "IPv4",
        ports: [{ name: "https", protocol: "TCP", port: 6443 }],
        endpoints: [{ address: "172.18.0.2", conditions: { ready: true, serving: true, terminating: false } }],
      },
    ]);
    expect(r.pods).toHaveLength(6);
    expect(r.pods.every((p) => p.phase === "Running")).toBe(true);
  });

  test("objects keep their creation times; pods start with their Deployment", () => {
    const web = r.services.find((s) => s.state.name === "web");
    expect(web?.createdAtMs).toBe(Date.parse("2024-05-02T09:31:07Z"));
    const pod = r.pods.find((p) => p.owner?.deployment === "web");
    expect(pod?.startedAtMs).toBe(Date.parse("2024-05-02T09:31:05Z"));
  });
});
