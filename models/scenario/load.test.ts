import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { InputError } from "../../sim/errors.js";
import { NS_PER_MS, NS_PER_S } from "../../sim/time.js";
import { loadScenario, parseScenario } from "./load.js";
import { parseClientTarget } from "./targets.js";

const fixtures = join(import.meta.dirname, "../../test/fixtures");

function error(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("no InputError thrown");
}

const web = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
`;

describe("parseScenario: Kubernetes defaults", () => {
  const s = parseScenario(web, "/tmp/web.yaml");

  test("the scenario is named after its file", () => {
    expect(s.name).toBe("web");
  });

  test("a Service gets Kubernetes' defaults", () => {
    const svc = s.services[0];
    expect(svc.metadata.namespace).toBe("default");
    expect(svc.type).toBe("ClusterIP");
    expect(svc.ports).toEqual([{ name: "", protocol: "TCP", port: 80, targetPort: 80 }]);
    expect(svc.sessionAffinity).toBe("None");
    expect(svc.sessionAffinityTimeoutSeconds).toBe(10800);
    expect(svc.externalTrafficPolicy).toBe("Cluster");
    expect(svc.internalTrafficPolicy).toBe("Cluster");
    expect(svc.publishNotReadyAddresses).toBe(false);
    expect(svc.headless).toBe(false);
    expect(svc.origin.document).toBe("document 2 (Service/web)");
  });

  test("an object's origin finds its line when asked, and only its file, document and path are data", () => {
    const svc = s.services[0];
    const lines = web.split("\n");
    // The Service's document starts after the first document marker.
    expect(svc.origin.line).toBe(lines.indexOf("---") + 2);
    expect(JSON.parse(JSON.stringify(svc.origin))).toEqual({ file: "/tmp/web.yaml", document: "document 2 (Service/web)", pathPrefix: "" });
    expect({ ...svc.origin }).toEqual({ file: "/tmp/web.yaml", document: "document 2 (Service/web)", pathPrefix: "" });
  });

  test("a Deployment gets Kubernetes' defaults", () => {
    const d = s.deployments[0];
    expect(d.replicas).toBe(1);
    expect(d.strategy).toEqual({ type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" });
    expect(d.template.terminationGracePeriodSeconds).toBe(30);
    expect(d.template.enableServiceLinks).toBe(true);
    expect(d.template.dnsPolicy).toBe("ClusterFirst");
    expect(d.template.containers[0].ports[0]).toEqual({ name: "http", containerPort: 8080, protocol: "TCP" });
    expect(d.template.concurrency).toBe(1);
  });

  test("without Cluster, Workload or Run documents, svcsim's defaults apply", () => {
    expect(s.cluster.nodes.map((n) => `${n.name}/${n.zone}`)).toEqual(["node-1/zone-a", "node-2/zone-b", "node-3/zone-c"]);
    expect(s.cluster.clusterCIDR).toBe("10.244.0.0/16");
    expect(s.cluster.serviceClusterIPRange).toBe("10.96.0.0/12");
    expect(s.cluster.serviceNodePortRange).toEqual({ min: 30000, max: 32767 });
    expect(s.cluster.kubeProxy.mode).toBe("iptables");
    expect(s.cluster.kubeProxy.minSyncPeriod).toBe(NS_PER_S);
    expect(s.cluster.kubeProxy.syncPeriod).toBe(30 * NS_PER_S);
    expect(s.cluster.kubeProxy.ipvsScheduler).toBe("rr");
    expect(s.cluster.kubeProxy.conntrack.maxPerCore).toBe(32768);
    expect(s.cluster.kubeProxy.conntrack.min).toBe(131072);
    expect(s.cluster.kubeProxy.conntrack.tcpEstablishedTimeout).toBe(24 * 3600 * NS_PER_S);
    expect(s.cluster.dns.ttl).toBe(5 * NS_PER_S);
    expect(s.cluster.dns.cacheTTL).toBe(30 * NS_PER_S);
    expect(s.cluster.dns.ndots).toBe(5);
    expect(s.workload.clients).toEqual([]);
    expect(s.churn).toEqual([]);
    expect(s.run).toEqual({ duration: 60 * NS_PER_S, warmup: 0, seed: 1, replications: 1 });
  });
});

describe("parseScenario: svcsim kinds", () => {
  const text = `
apiVersion: svcsim.dev/v1
kind: Cluster
spec:
  nodes:
  - {name: a1, zone: eu-1a}
  - {name: b1, zone: eu-1b, labels: {disk: ssd}}
  - {name: c1}
  kubeProxy: {mode: ipvs, ipvsScheduler: lc, minSyncPeriod: 250ms}
  network: {nodeToNode: "const(100us)"}
  controlPlane: {podToSlice: "exp(50ms)"}
  dns: {ndots: 2}
---
${web}
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 443, targetPort: 8080}]}
---
apiVersion: svcsim.dev/v1
kind: Workload
spec:
  clients:
  - {name: short, from: a1, target: "web:80", arrival: "poisson(500/s)"}
  - {name: fqdn, from: b1, target: "web.default.svc.cluster.local.:80", arrival: "poisson(10/s)", connection: keepalive, ndots: 5}
  - {name: ext, from: external, target: "loadbalancer/web-lb:443", closedLoop: {users: 10, thinkTime: "exp(1s)"}, connection: http2}
  - {name: vip, from: c1, target: "10.96.0.10:53", arrival: "poisson(1/s)", timeout: 2s, retries: 3}
  - {name: np, from: external, target: "b1:30080", arrival: "poisson(1/s)"}
---
apiVersion: svcsim.dev/v1
kind: Churn
spec:
  events:
  - {at: 40s, kill: web, count: 2, every: 5s}
  - {at: 20s, rollout: web}
  - {at: 50s, scale: web, replicas: 8}
  - {at: 55s, failNode: c1}
---
apiVersion: svcsim.dev/v1
kind: Run
metadata: {name: study-1}
spec: {duration: 1m, warmup: 5s, seed: 42, replications: 5}
`;
  const s = parseScenario(text, "x.yaml");

  test("nodes as a list keep names, zones and labels; missing zones go round-robin", () => {
    expect(s.cluster.nodes).toEqual([
      { name: "a1", zone: "eu-1a", labels: {} },
      { name: "b1", zone: "eu-1b", labels: { disk: "ssd" } },
      { name: "c1", zone: "zone-c", labels: {} },
    ]);
    expect(s.cluster.kubeProxy.mode).toBe("ipvs");
    expect(s.cluster.kubeProxy.ipvsScheduler).toBe("lc");
    expect(s.cluster.kubeProxy.minSyncPeriod).toBe(250 * NS_PER_MS);
    expect(s.cluster.network.nodeToNode).toBe("const(100us)");
    expect(s.cluster.controlPlane.podToSlice).toBe("exp(50ms)");
  });

  test("clients: every target form, open and closed loops, defaults", () => {
    const [short, fqdn, ext, vip, np] = s.workload.clients;
    expect(short.target).toEqual({ kind: "dns", name: "web", port: 80, text: "web:80" });
    expect(short.from).toEqual({ kind: "node", node: "a1" });
    expect(short.arrival).toBe("poisson(500/s)");
    expect(short.connection).toBe("new");
    expect(short.ndots).toBe(2); // the cluster's dns.ndots
    expect(short.timeout).toBe(30 * NS_PER_S);
    expect(short.keepalive).toEqual({ maxConnections: 100, idleTimeout: 90 * NS_PER_S, maxRequestsPerConnection: 0 });
    expect(fqdn.target).toMatchObject({ kind: "dns", name: "web.default.svc.cluster.local." });
    expect(fqdn.ndots).toBe(5);
    expect(ext.target).toEqual({ kind: "loadBalancer", service: "web-lb", namespace: "default", port: 443, text: "loadbalancer/web-lb:443" });
    expect(ext.closedLoop).toEqual({ users: 10, thinkTime: "exp(1s)" });
    expect(ext.arrival).toBeUndefined();
    expect(vip.target).toEqual({ kind: "address", ip: "10.96.0.10", port: 53, text: "10.96.0.10:53" });
    expect(vip.retries).toBe(3);
    expect(np.target).toEqual({ kind: "nodePort", node: "b1", port: 30080, text: "b1:30080" });
  });

  test("churn events are sorted by time", () => {
    expect(s.churn.map((e) => e.action.type)).toEqual(["rollout", "kill", "scale", "failNode"]);
    expect(s.churn[1]).toMatchObject({ at: 40 * NS_PER_S, every: 5 * NS_PER_S, action: { type: "kill", deployment: "web", namespace: "default", count: 2 } });
    expect(s.churn[2].action).toEqual({ type: "scale", deployment: "web", namespace: "default", replicas: 8 });
  });

  test("the Run's metadata.name names the scenario", () => {
    expect(s.name).toBe("study-1");
    expect(s.run).toEqual({ duration: 60 * NS_PER_S, warmup: 5 * NS_PER_S, seed: 42, replications: 5 });
  });
});

describe("parseScenario: a kubectl List", () => {
  test("`kubectl get svc,deploy,endpointslices -A -o yaml` of a real cluster loads unchanged", () => {
    const s = loadScenario(join(fixtures, "kubectl-list.yaml"));
    expect(s.services.map((x) => `${x.metadata.namespace}/${x.metadata.name}`)).toEqual([
      "default/kubernetes",
      "default/web",
      "default/web-lb",
      "kube-system/kube-dns",
    ]);
    expect(s.deployments.map((x) => `${x.metadata.namespace}/${x.metadata.name}`)).toEqual([
      "default/web",
      "kube-system/coredns",
      "local-path-storage/local-path-provisioner",
    ]);
    // The controller's slices are regenerated from pods; the API server's own one is kept.
    expect(s.endpointSlices.map((x) => x.metadata.name)).toEqual(["kubernetes"]);
    expect(s.warnings).toEqual([]);
    const lb = s.services[2];
    expect(lb).toMatchObject({ type: "LoadBalancer", clusterIP: "10.96.57.3", externalTrafficPolicy: "Local", healthCheckNodePort: 32001 });
    expect(lb.ports[0]).toEqual({ name: "http", protocol: "TCP", port: 80, targetPort: "http", nodePort: 31380 });
    expect(lb.loadBalancerIngress).toEqual(["172.18.255.200"]);
    expect(s.services[0].metadata.creationTimestampMs).toBe(Date.parse("2024-05-02T09:14:21Z"));
    expect(s.deployments[1].strategy).toEqual({ type: "RollingUpdate", maxSurge: "25%", maxUnavailable: 1 });
    expect(s.deployments[1].template.dnsPolicy).toBe("Default");
    expect(s.services[0].origin.document).toBe("document 1 (List item 0: Service/kubernetes)");
    expect(s.services[0].origin.pathPrefix).toBe("items[0]");
  });
});

describe("parseScenario: what is skipped and what is refused", () => {
  test("unknown Kubernetes kinds are skipped with a warning", () => {
    const s = parseScenario(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n---\n${web}`,
      "w.yaml",
    );
    expect(s.services).toHaveLength(1);
    expect(s.warnings).toHaveLength(2);
    expect(s.warnings[0]).toContain("document 1 (ConfigMap/c)");
    expect(s.warnings[1]).toContain("Ingress");
  });

  test("a near miss of a known kind is refused, not skipped", () => {
    const e = error(() => parseScenario("apiVersion: v1\nkind: Servce\nmetadata: {name: x}\n", "k.yaml"));
    expect(e.fieldPath).toBe("kind");
    expect(e.expected).toContain("did you mean Service?");
  });

  test("an enum typo lists the allowed values", () => {
    const e = error(() => parseScenario("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIp, ports: [{port: 80}]}\n", "t.yaml"));
    expect(e.format()).toBe(
      't.yaml: document 1 (Service/x): spec.type: invalid value at line 4 (expected one of ClusterIP, NodePort, LoadBalancer, ExternalName, found "ClusterIp")',
    );
  });

  test("an old apiVersion of a known kind is refused", () => {
    const e = error(() => parseScenario(web.replace("apps/v1", "extensions/v1beta1"), "v.yaml"));
    expect(e.fieldPath).toBe("apiVersion");
    expect(e.expected).toBe("apps/v1");
  });

  test("the same object twice is refused", () => {
    const e = error(() => parseScenario(`${web}\n---\n${web}`, "d.yaml"));
    expect(e.format()).toContain("duplicate Deployment default/web");
  });

  test("`null` values (creationTimestamp: null) read as unset", () => {
    const s = parseScenario(web.replace("metadata: {labels: {app: web}}", "metadata: {creationTimestamp: null, labels: {app: web}}"), "n.yaml");
    expect(s.deployments[0].template.labels).toEqual({ app: "web" });
  });

  test("a file over the size cap is refused before parsing", () => {
    const e = error(() => parseScenario(`# ${"x".repeat(17 * 1024 * 1024)}\n`, "big.yaml"));
    expect(e.format()).toContain("too large");
    expect(error(() => parseScenario(web, "w.yaml", { maxBytes: 100 })).expected).toBe("at most 100 bytes");
  });

  test("documents are read as they are parsed, yet a syntax error further on is reported before a bad field", () => {
    const bad = web.replace("ports: [{port: 80}]", "ports: [{port: -1}]");
    // The bad field alone: its own error, with its line.
    expect(error(() => parseScenario(bad, "f.yaml")).format()).toMatch(/document 2 \(Service\/web\): spec\.ports\[0\]\.port: .* at line \d+/);
    // A syntax error in a later document wins, as a whole-stream parse would have it.
    expect(error(() => parseScenario(`${bad}---
kind: [unclosed
`, "s.yaml")).format()).toMatch(/YAML syntax error at line \d+/);
    // A stream js-yaml refuses half-way is read again from the top: nothing is counted twice.
    const twice = `${web}---
apiVersion: v1
kind: Service
metadata: {name: other}
spec: {selector: {app: web}, ports: [{port: 81}]}
`;
    expect(parseScenario(twice, "ok.yaml").services.map((x) => x.metadata.name)).toEqual(["web", "other"]);
  });

  test("a few aliases are fine; a bomb is not", () => {
    const ok = parseScenario(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a, labels: &l {app: a}}\nspec: {selector: *l, ports: [{port: 80}]}\n",
      "a.yaml",
    );
    expect(ok.services[0].selector).toEqual({ app: "a" });
    expect(error(() => loadScenario(join(fixtures, "bad/alias-bomb.yaml"))).format()).toContain("alias");
  });

  test("a missing file is an InputError", () => {
    expect(error(() => loadScenario("/nonexistent/scenario.yaml")).format()).toContain("cannot read the scenario file (ENOENT)");
  });

  test("a client with both arrival and closedLoop is refused", () => {
    const e = error(() =>
      parseScenario(
        'apiVersion: svcsim.dev/v1\nkind: Workload\nspec:\n  clients:\n  - {name: c, from: node-1, target: "web:80", arrival: "poisson(1/s)", closedLoop: {users: 1}}\n',
        "c.yaml",
      ),
    );
    expect(e.fieldPath).toBe("spec.clients[0].closedLoop");
  });

  test("loadbalancer/ targets must name a LoadBalancer Service", () => {
    const e = error(() =>
      parseScenario(
        `${web}\n---\napiVersion: svcsim.dev/v1\nkind: Workload\nspec:\n  clients:\n  - {name: c, from: external, target: "loadbalancer/web:80", arrival: "poisson(1/s)"}\n`,
        "lb.yaml",
      ),
    );
    expect(e.format()).toContain("Service default/web is of type ClusterIP");
  });
});

describe("parseClientTarget", () => {
  const nodes = new Set(["node-1", "node-2"]);
  test.each([
    ["web:80", { kind: "dns", name: "web", port: 80 }],
    ["web.default:80", { kind: "dns", name: "web.default", port: 80 }],
    ["web.default.svc.cluster.local:80", { kind: "dns", name: "web.default.svc.cluster.local", port: 80 }],
    ["web.default.svc.cluster.local.:80", { kind: "dns", name: "web.default.svc.cluster.local.", port: 80 }],
    ["DB.Example.com:5432", { kind: "dns", name: "db.example.com", port: 5432 }],
    ["10.96.0.10:80", { kind: "address", ip: "10.96.0.10", port: 80 }],
    ["node-2:30001", { kind: "nodePort", node: "node-2", port: 30001 }],
    ["loadbalancer/web:443", { kind: "loadBalancer", service: "web", namespace: "ns1", port: 443 }],
  ])("%s", (text, want) => {
    expect(parseClientTarget(text, nodes, "ns1")).toMatchObject(want);
  });
  test.each(["web", ":80", "web:0", "web:65536", "web:http", "10.96.0.300:80", "a/b:80", "web_1:80", "-web:80"])("%s is refused", (text) => {
    expect(parseClientTarget(text, nodes, "default")).toHaveProperty("error");
  });
});
