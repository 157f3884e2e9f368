import { describe, expect, test } from "vitest";
import { resolveCluster } from "../cluster/resolve.js";
import type { ServiceState } from "../cluster/types.js";
import { parseScenario } from "../scenario/load.js";
import { containerEnv, envVarPrefix, envVarsForService, serviceEnvVars } from "./envvars.js";

function service(over: Partial<ServiceState>): ServiceState {
  return {
    namespace: "default",
    name: "web",
    type: "ClusterIP",
    clusterIP: "10.96.1.1",
    headless: false,
    ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 80 }],
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

describe("the variables of one Service", () => {
  test("names: upper case, '-' and '.' to '_', a leading digit gets '_'", () => {
    expect(envVarPrefix("web-api")).toBe("WEB_API");
    expect(envVarPrefix("3d")).toBe("_3D");
  });

  test("a two-port Service, as the kubelet writes it", () => {
    const vars = envVarsForService(
      service({
        name: "web-api",
        ports: [
          { name: "http", protocol: "TCP", port: 80, targetPort: 8080 },
          { name: "dns-udp", protocol: "UDP", port: 53, targetPort: 53 },
        ],
      }),
    );
    expect(vars).toEqual([
      { name: "WEB_API_SERVICE_HOST", value: "10.96.1.1" },
      { name: "WEB_API_SERVICE_PORT", value: "80" },
      { name: "WEB_API_SERVICE_PORT_HTTP", value: "80" },
      { name: "WEB_API_SERVICE_PORT_DNS_UDP", value: "53" },
      { name: "WEB_API_PORT", value: "tcp://10.96.1.1:80" },
      { name: "WEB_API_PORT_80_TCP", value: "tcp://10.96.1.1:80" },
      { name: "WEB_API_PORT_80_TCP_PROTO", value: "tcp" },
      { name: "WEB_API_PORT_80_TCP_PORT", value: "80" },
      { name: "WEB_API_PORT_80_TCP_ADDR", value: "10.96.1.1" },
      { name: "WEB_API_PORT_53_UDP", value: "udp://10.96.1.1:53" },
      { name: "WEB_API_PORT_53_UDP_PROTO", value: "udp" },
      { name: "WEB_API_PORT_53_UDP_PORT", value: "53" },
      { name: "WEB_API_PORT_53_UDP_ADDR", value: "10.96.1.1" },
    ]);
  });

  test("headless and ExternalName Services get none (no cluster IP)", () => {
    expect(envVarsForService(service({ headless: true, clusterIP: null }))).toEqual([]);
    expect(envVarsForService(service({ type: "ExternalName", clusterIP: null, externalName: "x.example.com" }))).toEqual([]);
  });
});

describe("which Services a pod sees", () => {
  const services = [
    { state: service({ name: "old" }), createdAtMs: 1000 },
    { state: service({ name: "same-time" }), createdAtMs: 2000 },
    { state: service({ name: "new" }), createdAtMs: 3000 },
    { state: service({ name: "elsewhere", namespace: "other" }), createdAtMs: 0 },
    { state: service({ name: "kubernetes", clusterIP: "10.96.0.1", ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: 6443 }] }), createdAtMs: 0 },
  ];
  const hosts = (ns: string, startedAtMs: number, enableServiceLinks = true) =>
    serviceEnvVars({ namespace: ns, startedAtMs, enableServiceLinks }, services)
      .filter((v) => v.name.endsWith("_SERVICE_HOST"))
      .map((v) => v.name);

  test("only Services of its namespace that existed when it started", () => {
    expect(hosts("default", 2000)).toEqual(["KUBERNETES_SERVICE_HOST", "OLD_SERVICE_HOST", "SAME_TIME_SERVICE_HOST"]);
    expect(hosts("default", 5000)).toContain("NEW_SERVICE_HOST");
  });

  test("the kubernetes Service of default reaches every namespace, even without service links", () => {
    expect(hosts("other", 5000)).toEqual(["ELSEWHERE_SERVICE_HOST", "KUBERNETES_SERVICE_HOST"]);
    expect(hosts("default", 5000, false)).toEqual(["KUBERNETES_SERVICE_HOST"]);
  });

  test("a container's own env wins over a Service variable of the same name", () => {
    const env = containerEnv([{ name: "OLD_SERVICE_HOST", value: "override" }], serviceEnvVars({ namespace: "default", startedAtMs: 1000, enableServiceLinks: true }, services));
    expect(env.filter((v) => v.name === "OLD_SERVICE_HOST")).toEqual([{ name: "OLD_SERVICE_HOST", value: "override" }]);
  });
});

describe("creation times from a scenario", () => {
  test("pods get the variables of Services created before their Deployment, not after", () => {
    const r = resolveCluster(
      parseScenario(
        `
apiVersion: v1
kind: Service
metadata: {name: before, creationTimestamp: "2024-05-01T10:00:00Z"}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, creationTimestamp: "2024-05-01T11:00:00Z"}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: after, creationTimestamp: "2024-05-01T12:00:00Z"}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: applied-now}
spec: {ports: [{port: 80}]}
`,
        "times.yaml",
      ),
    );
    const pod = r.pods.find((p) => p.owner?.deployment === "app");
    if (!pod) throw new Error("no pod");
    const names = serviceEnvVars({ namespace: "default", startedAtMs: pod.startedAtMs, enableServiceLinks: true }, r.services).map((v) => v.name);
    expect(names).toContain("BEFORE_SERVICE_HOST");
    expect(names).toContain("KUBERNETES_SERVICE_HOST");
    expect(names).not.toContain("AFTER_SERVICE_HOST");
    // Objects without a creationTimestamp are applied after the latest one.
    expect(names).not.toContain("APPLIED_NOW_SERVICE_HOST");
  });

  test("without any timestamps, everything is applied together and pods see every Service", () => {
    const r = resolveCluster(
      parseScenario(
        `
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: later-in-the-file}
spec: {ports: [{port: 80}]}
`,
        "together.yaml",
      ),
    );
    const pod = r.pods.find((p) => p.owner?.deployment === "app");
    if (!pod) throw new Error("no pod");
    const names = serviceEnvVars({ namespace: "default", startedAtMs: pod.startedAtMs, enableServiceLinks: true }, r.services).map((v) => v.name);
    expect(names).toContain("LATER_IN_THE_FILE_SERVICE_HOST");
  });
});
