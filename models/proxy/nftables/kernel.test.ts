/**
 * The real kernel accepts what we render. As root, with `nft` and `ip` installed, this test
 * creates a network namespace of its own, loads the full ruleset of a mixed cluster with
 * `nft -c -f` (check mode) and `nft -f`, then applies a partial-sync transaction on top, then the
 * deletion of the chains it left stale, and compares what the kernel lists with our model. It
 * deletes the namespace afterwards. Without root or nft it is skipped, loudly. No traffic is sent.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ClusterState } from "../../cluster/types.js";
import { compileNftables } from "./dataplane.js";
import type { NftablesOptions } from "./compile.js";
import { KUBE_PROXY_TEST_POD_CIDR, TEST_NODE, mixedCluster } from "./testClusters.js";

function available(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0;
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const haveNft = available("nft", ["--version"]);
const haveIp = available("ip", ["-V"]);
const why = !isRoot ? "not running as root" : !haveNft ? "the nft command is missing (apt-get install nftables)" : !haveIp ? "the ip command is missing (iproute2)" : "";
if (why !== "") {
  console.warn(`\n*** SKIPPED: nftables kernel-acceptance test — ${why}. The rendered rules were NOT loaded into a kernel. ***\n`);
}

const NS = `svcsim-nft-${randomBytes(4).toString("hex")}`;
let created = false;
let dir = "";

function inNamespace(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("ip", ["netns", "exec", NS, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function load(name: string, text: string, check = false): void {
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = inNamespace(check ? ["nft", "-c", "-f", file] : ["nft", "-f", file]);
  expect(r.stderr, `nft ${check ? "-c " : ""}-f ${name}`).toBe("");
  expect(r.status).toBe(0);
}

function chainCount(): number {
  const r = inNamespace(["nft", "list", "chains", "ip"]);
  expect(r.status).toBe(0);
  return r.stdout.split("\n").filter((l) => /^\s*chain /.test(l)).length;
}

function elementCount(kind: "map" | "set", name: string): number {
  const r = inNamespace(["nft", "-j", "list", kind, "ip", "kube-proxy", name]);
  expect(r.status).toBe(0);
  const json = JSON.parse(r.stdout) as { nftables: Array<Record<string, { elem?: unknown[] }>> };
  for (const item of json.nftables) {
    const obj = item[kind];
    if (obj !== undefined) return obj.elem?.length ?? 0;
  }
  return 0;
}

function changed(cluster: ClusterState): ClusterState {
  const next = structuredClone(cluster);
  // A Service goes away, another loses its endpoints, one gains an endpoint, one switches affinity off.
  next.services = next.services.filter((s) => s.name !== "svc3");
  next.endpointSlices = next.endpointSlices.filter((s) => s.serviceName !== "svc4");
  const dns = next.endpointSlices.find((s) => s.serviceName === "kube-dns");
  dns?.endpoints.push({ address: "10.180.2.10", conditions: { ready: true, serving: true, terminating: false }, nodeName: "node-2" });
  const web = next.services.find((s) => s.name === "web-local");
  if (web !== undefined) web.sessionAffinity = "None";
  return next;
}

describe.skipIf(why !== "")("nftables rules in a real kernel", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "svcsim-nft-"));
    const r = spawnSync("ip", ["netns", "add", NS], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip netns add ${NS} failed: ${r.stderr}`);
    created = true;
  });

  afterAll(() => {
    if (created) spawnSync("ip", ["netns", "del", NS]);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  const options: NftablesOptions = { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR };

  test("a mixed cluster's full ruleset loads (check mode, then for real), and a partial sync applies on top", () => {
    const before = compileNftables(mixedCluster(), options);
    const full = before.render();
    expect(full).toContain("table ip kube-proxy");
    load("full.nft", full, true);
    load("full.nft", full);
    expect(chainCount()).toBe(before.size().chains);
    expect(elementCount("map", "service-ips")).toBe(before.elements.get("service-ips")?.size);

    // Loading the same full sync again works too: it is how kube-proxy resyncs.
    load("full-again.nft", full);
    expect(chainCount()).toBe(before.size().chains);

    const after = compileNftables(changed(mixedCluster()), options, before);
    const tx = after.transactionFrom(before);
    expect(tx.operations).toBeGreaterThan(0);
    load("partial.nft", tx.text);
    expect(chainCount()).toBe(after.size().chains + after.staleChains.size);
    expect(elementCount("map", "service-ips")).toBe(after.elements.get("service-ips")?.size);
    expect(elementCount("map", "no-endpoint-services")).toBe(after.elements.get("no-endpoint-services")?.size);

    load("stale.nft", after.staleChainDeletion().text);
    expect(chainCount()).toBe(after.size().chains);
  });

  test("the variant with --nodeport-addresses matching all local addresses (fib daddr type local) loads", () => {
    inNamespace(["nft", "delete", "table", "ip", "kube-proxy"]);
    const plane = compileNftables(mixedCluster(), { ...options, nodePortAddresses: "all", masqueradeAll: true });
    load("all.nft", plane.render(), true);
    load("all.nft", plane.render());
    expect(chainCount()).toBe(plane.size().chains);
  });
});
