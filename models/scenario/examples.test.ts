/** The shipped example scenarios (experiments/scenarios/*.yaml) load and resolve cleanly. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { resolveCluster } from "../cluster/resolve.js";
import { ClusterDnsZone, resolve } from "../discovery/dns.js";
import { loadScenario } from "./load.js";

const dir = join(import.meta.dirname, "../../experiments/scenarios");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("example scenarios", () => {
  test("one per Service kind, and all of them together", () => {
    for (const f of ["clusterip", "nodeport", "loadbalancer", "externalname", "headless", "without-selector", "all-kinds"]) {
      expect(files).toContain(`${f}.yaml`);
    }
  });

  test.each(files)("%s starts with a comment, has Cluster, Workload and Run, and resolves without warnings", (f) => {
    const text = readFileSync(join(dir, f), "utf8");
    expect(text.startsWith("# ")).toBe(true);
    for (const kind of ["Cluster", "Workload", "Run"]) expect(text).toMatch(new RegExp(`^kind: ${kind}$`, "m"));
    const s = loadScenario(join(dir, f));
    expect(s.workload.clients.length).toBeGreaterThan(0);
    const r = resolveCluster(s);
    expect(r.warnings).toEqual([]);
    expect(r.pods.every((p) => p.phase === "Running")).toBe(true);
    // Every DNS target of an in-cluster client resolves.
    const zone = new ClusterDnsZone(r.state);
    for (const c of s.workload.clients) {
      if (c.target.kind !== "dns") continue;
      expect(resolve(zone, c.target.name, c.namespace, c.ndots).answer.rcode, `${f}: ${c.name}`).toBe("NOERROR");
    }
  });

  test("all-kinds has every Service type, headless and selector-less included", () => {
    const r = resolveCluster(loadScenario(join(dir, "all-kinds.yaml")));
    const user = r.services.filter((s) => !s.system).map((s) => s.state);
    expect(new Set(user.map((s) => s.type))).toEqual(new Set(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]));
    expect(user.some((s) => s.headless)).toBe(true);
    expect(user.some((s) => s.selector === null && s.type !== "ExternalName")).toBe(true);
    // cache pods land on the ssd node only.
    expect(new Set(r.pods.filter((p) => p.owner?.deployment === "cache").map((p) => p.nodeName))).toEqual(new Set(["node-4"]));
  });

  test("loadbalancer: the pods avoid node-3, which therefore has no local endpoint", () => {
    const r = resolveCluster(loadScenario(join(dir, "loadbalancer.yaml")));
    const nodes = new Set(r.pods.filter((p) => p.owner?.deployment === "shop").map((p) => p.nodeName));
    expect(nodes).toEqual(new Set(["node-1", "node-2"]));
    expect(r.state.services.find((s) => s.name === "shop")?.healthCheckNodePort).toBeDefined();
  });
});
