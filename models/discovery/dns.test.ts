import { describe, expect, test } from "vitest";
import { resolveCluster } from "../cluster/resolve.js";
import { parseScenario } from "../scenario/load.js";
import { ClusterDnsZone, lookupSequence, resolve, searchPath } from "./dns.js";

const resolved = resolveCluster(
  parseScenario(
    `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec: {clusterIP: None, selector: {app: none}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {type: ExternalName, externalName: db.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: alias}
spec: {type: ExternalName, externalName: web.default.svc.cluster.local}
`,
    "dns.yaml",
  ),
);
const zone = new ClusterDnsZone(resolved.state);
const webIP = resolved.state.services.find((s) => s.name === "web")?.clusterIP;

describe("the pod resolver's search path under ndots:5", () => {
  test("search path of a pod in default", () => {
    expect(searchPath("default")).toEqual(["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
  });

  test("`web`: one query, found on the first search domain", () => {
    const r = resolve(zone, "web", "default");
    expect(r.queries).toBe(1);
    expect(r.fqdnsTried).toEqual(["web.default.svc.cluster.local."]);
    expect(r.answer).toMatchObject({ rcode: "NOERROR", addresses: [webIP], ttlSeconds: 5, source: "cluster" });
  });

  test("the zone's own resolve method is the same lookup", () => {
    expect(zone.resolve("web.default", "default", 5)).toEqual(resolve(zone, "web.default", "default", 5));
  });

  test("`web.default`: two queries (web.default.default.svc.cluster.local is NXDOMAIN)", () => {
    const r = resolve(zone, "web.default", "default");
    expect(r.queries).toBe(2);
    expect(r.fqdnsTried).toEqual(["web.default.default.svc.cluster.local.", "web.default.svc.cluster.local."]);
    expect(r.answer.addresses).toEqual([webIP]);
  });

  test("`web.default.svc.cluster.local.` (trailing dot): one query", () => {
    const r = resolve(zone, "web.default.svc.cluster.local.", "default");
    expect(r.queries).toBe(1);
    expect(r.answer.addresses).toEqual([webIP]);
  });

  test("`web.default.svc.cluster.local` (no dot): 4 dots < 5, so the 3 search domains first, then as is: 4 queries", () => {
    const r = resolve(zone, "web.default.svc.cluster.local", "default");
    expect(r.fqdnsTried).toEqual([
      "web.default.svc.cluster.local.default.svc.cluster.local.",
      "web.default.svc.cluster.local.svc.cluster.local.",
      "web.default.svc.cluster.local.cluster.local.",
      "web.default.svc.cluster.local.",
    ]);
    expect(r.queries).toBe(4);
    expect(r.answer.addresses).toEqual([webIP]);
  });

  test("an external name `db.example.com`: 3 NXDOMAIN in the cluster domain, then as is: 4 queries", () => {
    const r = resolve(zone, "db.example.com", "default");
    expect(r.queries).toBe(4);
    expect(r.fqdnsTried.at(-1)).toBe("db.example.com.");
    expect(r.answer).toMatchObject({ rcode: "NOERROR", source: "external" });
    expect(r.answer.addresses[0]).toMatch(/^198\.51\.100\./);
  });

  test("with ndots:2, `db.example.com` (2 dots) is asked as is first: 1 query", () => {
    expect(resolve(zone, "db.example.com", "default", 2).queries).toBe(1);
    expect(lookupSequence("web.default", "default", 1)[0]).toBe("web.default.");
  });

  test("a name that exists nowhere costs every candidate and ends in NXDOMAIN", () => {
    const r = resolve(zone, "nope", "default");
    expect(r.queries).toBe(4);
    expect(r.answer.rcode).toBe("NXDOMAIN");
  });

  test("from another namespace, `web` is not found; `web.default` is", () => {
    expect(resolve(zone, "web", "other").answer.rcode).toBe("NXDOMAIN");
    const r = resolve(zone, "web.default", "other");
    expect(r.fqdnsTried).toEqual(["web.default.other.svc.cluster.local.", "web.default.svc.cluster.local."]);
    expect(r.answer.addresses).toEqual([webIP]);
  });
});

describe("the cluster zone", () => {
  test("headless: A records of the ready pod IPs; none ready: NXDOMAIN", () => {
    const podIPs = resolved.pods.filter((p) => p.owner?.deployment === "web").map((p) => p.ip);
    expect(zone.answer("web-headless.default.svc.cluster.local").addresses.sort()).toEqual([...podIPs].sort());
    expect(zone.answer("nobody.default.svc.cluster.local").rcode).toBe("NXDOMAIN");
  });

  test("ExternalName: a CNAME, chased to the outside world or back into the cluster", () => {
    const ext = zone.answer("db.default.svc.cluster.local.");
    expect(ext.cnames).toEqual(["db.example.com."]);
    expect(ext.source).toBe("external");
    expect(ext.addresses).toHaveLength(1);
    const inner = zone.answer("alias.default.svc.cluster.local.");
    expect(inner.cnames).toEqual(["web.default.svc.cluster.local."]);
    expect(inner.addresses).toEqual([webIP]);
  });

  test("kube-dns itself, pod A records, and NXDOMAIN for the rest of the zone", () => {
    expect(zone.answer("kube-dns.kube-system.svc.cluster.local").addresses).toEqual(["10.96.0.10"]);
    expect(zone.answer("10-244-0-5.default.pod.cluster.local").addresses).toEqual(["10.244.0.5"]);
    expect(zone.answer("svc.cluster.local").rcode).toBe("NXDOMAIN");
    expect(zone.answer("web.nosuchns.svc.cluster.local").rcode).toBe("NXDOMAIN");
  });

  test("a custom external resolver decides what exists outside", () => {
    const z = new ClusterDnsZone(resolved.state, { externalResolver: (n) => (n === "db.example.com." ? ["192.0.2.5"] : null) });
    expect(z.answer("db.default.svc.cluster.local").addresses).toEqual(["192.0.2.5"]);
    expect(resolve(z, "other.example.com", "default").answer.rcode).toBe("NXDOMAIN");
  });
});
