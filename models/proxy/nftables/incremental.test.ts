/**
 * Partial syncs. Two properties:
 *  1. the operation counts of kube-proxy's own partial-sync test (TestSyncProxyRulesRepeated in
 *     pkg/proxy/nftables/proxier_test.go) are reproduced step by step;
 *  2. applying an incremental transaction on top of the previous state gives exactly the state a
 *     full render of the new cluster gives (but for flushed chains awaiting deletion) — checked
 *     on kube-proxy's sequence and on random sequences of changes (fast-check).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { ClusterState } from "../../cluster/types.js";
import { compileNftables } from "./dataplane.js";
import type { NftablesDataPlane } from "./dataplane.js";
import { KUBE_PROXY_TEST_POD_CIDR, TEST_NODE, buildCluster, mixedCluster } from "./testClusters.js";
import type { ServiceSpec } from "./testClusters.js";
import { NftTableState, applyTransaction, dumpTable } from "./transaction.js";

const OPTS = { nodeName: TEST_NODE, clusterCIDR: KUBE_PROXY_TEST_POD_CIDR, masqueradeMark: "0x4000" };

/** The node's kernel: what the transactions built so far. */
class Kernel {
  readonly state = new NftTableState();
  plane: NftablesDataPlane;

  constructor(first: NftablesDataPlane) {
    this.plane = first;
    applyTransaction(this.state, first.render());
  }

  /** One kube-proxy partial sync; `ageStale`: the stale chains are old enough to be deleted first. */
  sync(cluster: ClusterState, ageStale = false): number {
    if (ageStale) applyTransaction(this.state, this.plane.staleChainDeletion().text);
    const next = compileNftables(cluster, OPTS, this.plane);
    const tx = next.transactionFrom(this.plane);
    applyTransaction(this.state, tx.text);
    this.plane = next;
    return tx.operations;
  }

  /** The kernel's table, without the empty chains that wait for deletion. */
  dumpWithoutStale(): string {
    const stale = this.plane.staleChains;
    return dumpTable(this.state)
      .split("\n")
      .filter((l) => !(l.startsWith("add chain ip kube-proxy ") && stale.has(l.slice("add chain ip kube-proxy ".length))))
      .join("\n");
  }
}

function fullDump(plane: NftablesDataPlane): string {
  const s = new NftTableState();
  applyTransaction(s, plane.render());
  return dumpTable(s);
}

const svc = (n: number, port: number, eps: string[] | undefined): ServiceSpec => ({
  ns: `ns${n}`,
  name: `svc${n}`,
  clusterIP: `172.30.0.4${n}`,
  ports: [{ name: `p${port}`, port }],
  ...(eps === undefined ? {} : { endpoints: eps.map((ip) => ({ ip })) }),
});

describe("partial syncs (TestSyncProxyRulesRepeated)", () => {
  test("operation counts and resulting state match kube-proxy step by step", () => {
    let services = [svc(1, 80, ["10.0.1.1"]), svc(2, 8080, ["10.0.2.1"])];
    const cluster = (): ClusterState => buildCluster({ services });
    const k = new Kernel(compileNftables(cluster(), OPTS));
    const check = (): void => expect(k.dumpWithoutStale()).toBe(fullDump(k.plane));

    // Add a service and its endpoints: 2 elements + 2 chains (add, flush, 2 rules each).
    services = [...services, svc(3, 80, ["10.0.3.1"])];
    expect(k.sync(cluster())).toBe(10);
    check();

    // Delete a service: 2 element deletions + 2 chain flushes; the chains are not yet deleted.
    services = services.filter((s) => s.name !== "svc2");
    expect(k.sync(cluster())).toBe(4);
    check();
    expect([...k.plane.staleChains].sort()).toEqual([
      "endpoint-7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080",
      "service-MHHHYRWA-ns2/svc2/tcp/p8080",
    ]);

    // Once stale for a second, they are deleted in a separate transaction; nothing else to do.
    expect(k.sync(cluster(), true)).toBe(0);
    check();

    // A service without endpoints: cluster-ips + no-endpoint-services.
    services = [...services, svc(4, 80, undefined)];
    expect(k.sync(cluster())).toBe(2);
    check();

    // Its endpoints arrive: +service-ips, -no-endpoint-services, 2 chains with 2 rules.
    services = services.map((s) => (s.name === "svc4" ? svc(4, 80, ["10.0.4.1"]) : s));
    expect(k.sync(cluster())).toBe(10);
    check();

    // An endpoint changes: service + new endpoint chain rewritten (8), old endpoint chain flushed.
    services = services.map((s) => (s.name === "svc3" ? svc(3, 80, ["10.0.3.2"]) : s));
    expect(k.sync(cluster())).toBe(9);
    check();

    // (stale chain aged and deleted first) an endpoint is added: 3 chains rewritten.
    services = services.map((s) => (s.name === "svc3" ? svc(3, 80, ["10.0.3.2", "10.0.3.3"]) : s));
    expect(k.sync(cluster(), true)).toBe(12);
    check();

    // The endpoints go away: element moves to no-endpoint-services (2), 3 chains flushed.
    services = services.map((s) => (s.name === "svc3" ? svc(3, 80, []) : s));
    expect(k.sync(cluster())).toBe(5);
    check();
    expect([...k.plane.staleChains].sort()).toEqual([
      "endpoint-SWWHDC7X-ns3/svc3/tcp/p80__10.0.3.2/80",
      "endpoint-TQ2QKHCZ-ns3/svc3/tcp/p80__10.0.3.3/80",
      "service-4AT6LBPK-ns3/svc3/tcp/p80",
    ]);

    // ... and come back before the chains were deleted: 2 elements + 3 chains rewritten.
    services = services.map((s) => (s.name === "svc3" ? svc(3, 80, ["10.0.3.2", "10.0.3.3"]) : s));
    expect(k.sync(cluster())).toBe(14);
    check();
    expect(k.plane.staleChains.size).toBe(0);
    const settled = k.dumpWithoutStale();

    // Empty, age, restore: the same rules as before.
    services = services.map((s) => (s.name === "svc3" ? svc(3, 80, []) : s));
    k.sync(cluster());
    services = services.map((s) => (s.name === "svc3" ? svc(3, 80, ["10.0.3.2", "10.0.3.3"]) : s));
    k.sync(cluster(), true);
    expect(k.dumpWithoutStale()).toBe(settled);

    // No change: an empty transaction.
    expect(k.sync(cluster())).toBe(0);
    expect(k.dumpWithoutStale()).toBe(settled);
  });

  test("a full sync over the kernel's state rewrites everything and flushes stale chains", () => {
    const before = compileNftables(buildCluster({ services: [svc(1, 80, ["10.0.1.1"]), svc(2, 8080, ["10.0.2.1"])] }), OPTS);
    const after = compileNftables(buildCluster({ services: [svc(1, 80, ["10.0.1.1"])] }), OPTS, before);
    const full = after.transactionFrom(before, "full");
    expect(full.operations).toBe(after.fullTransaction().operations + 2);
    const state = new NftTableState();
    applyTransaction(state, before.render());
    applyTransaction(state, full.text);
    applyTransaction(state, after.staleChainDeletion().text);
    expect(dumpTable(state)).toBe(fullDump(after));
  });
});

describe("sync writes", () => {
  test("what the sync loop is charged: a full first sync, then only the change", () => {
    const one = compileNftables(buildCluster({ services: [svc(1, 80, ["10.0.1.1"])] }), OPTS);
    const first = one.syncWritesFrom(null);
    expect(first).toMatchObject({ full: true, rulesWritten: one.size().rules, tableRules: one.size().rules });
    const two = compileNftables(buildCluster({ services: [svc(1, 80, ["10.0.1.1"]), svc(3, 80, ["10.0.3.1"])] }), OPTS, one);
    expect(two.syncWritesFrom(one)).toEqual({ full: false, rulesWritten: 4, chainsWritten: 2, elementsWritten: 2, tableRules: two.size().rules });
    expect(two.serviceFootprint("ns3/svc3")).toEqual({ rules: 4, chains: 2, elements: 2 });
    expect(two.serviceFootprint("ns9/none")).toBeUndefined();
  });
});

// ---- random changes ------------------------------------------------------------------------

type Change =
  | { kind: "dropService"; index: number }
  | { kind: "dropEndpoint"; index: number }
  | { kind: "addEndpoint"; index: number; octet: number; local: boolean }
  | { kind: "toggleAffinity"; index: number }
  | { kind: "togglePolicy"; index: number }
  | { kind: "addService"; octet: number };

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant("dropService" as const), index: fc.nat(30) }),
  fc.record({ kind: fc.constant("dropEndpoint" as const), index: fc.nat(30) }),
  fc.record({ kind: fc.constant("addEndpoint" as const), index: fc.nat(30), octet: fc.integer({ min: 2, max: 250 }), local: fc.boolean() }),
  fc.record({ kind: fc.constant("toggleAffinity" as const), index: fc.nat(30) }),
  fc.record({ kind: fc.constant("togglePolicy" as const), index: fc.nat(30) }),
  fc.record({ kind: fc.constant("addService" as const), octet: fc.integer({ min: 100, max: 250 }) }),
);

/** Up to six syncs, each after one to three changes. */
const batchesArb = fc.array(fc.array(changeArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 });

/**
 * The cluster after each batch of changes to `start`; with `share`, unchanged Service and slice
 * objects are the previous state's own, as the simulator's control plane publishes them.
 */
function* clustersAfter(start: ClusterState, batches: readonly Change[][], share = false): Generator<ClusterState> {
  let cluster = start;
  for (const batch of batches) {
    let next = cluster;
    for (const change of batch) next = applyChange(next, change);
    if (share) next = sharingUnchanged(cluster, next);
    yield next;
    cluster = next;
  }
}

function applyChange(c: ClusterState, change: Change): ClusterState {
  const next: ClusterState = structuredClone(c);
  const pick = <T>(list: T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);
  switch (change.kind) {
    case "dropService": {
      const s = pick(next.services, change.index);
      if (s !== undefined) next.services = next.services.filter((x) => x !== s);
      break;
    }
    case "dropEndpoint": {
      const slice = pick(next.endpointSlices, change.index);
      if (slice !== undefined && slice.endpoints.length > 0) slice.endpoints.splice(change.index % slice.endpoints.length, 1);
      break;
    }
    case "addEndpoint": {
      const slice = pick(next.endpointSlices, change.index);
      const address = `10.181.${change.index}.${change.octet}`;
      if (slice !== undefined && !slice.endpoints.some((e) => e.address === address)) {
        slice.endpoints.push({
          address,
          conditions: { ready: true, serving: true, terminating: false },
          ...(change.local ? { nodeName: TEST_NODE } : {}),
        });
      }
      break;
    }
    case "toggleAffinity": {
      const s = pick(next.services, change.index);
      if (s !== undefined) s.sessionAffinity = s.sessionAffinity === "None" ? "ClientIP" : "None";
      break;
    }
    case "togglePolicy": {
      const s = pick(next.services, change.index);
      if (s !== undefined) s.externalTrafficPolicy = s.externalTrafficPolicy === "Local" ? "Cluster" : "Local";
      break;
    }
    case "addService": {
      const name = `new-${change.octet}`;
      if (!next.services.some((s) => s.name === name)) {
        const extra = buildCluster({
          services: [
            {
              ns: "default",
              name,
              type: "NodePort",
              clusterIP: `172.30.9.${change.octet}`,
              ports: [{ name: "http", port: 80, nodePort: 31000 + change.octet }],
              endpoints: [{ ip: `10.182.0.${change.octet}` }],
            },
          ],
        });
        next.services.push(...extra.services);
        next.endpointSlices.push(...extra.endpointSlices);
      }
      break;
    }
  }
  return next;
}

describe("partial syncs on random changes", () => {
  test("incremental transactions reach the state a full render gives", () => {
    fc.assert(
      fc.property(batchesArb, fc.boolean(), (steps, age) => {
        let cluster = mixedCluster();
        const k = new Kernel(compileNftables(cluster, OPTS));
        for (const batch of steps) {
          for (const change of batch) cluster = applyChange(cluster, change);
          k.sync(cluster, age);
          expect(k.dumpWithoutStale()).toBe(fullDump(k.plane));
        }
      }),
      { numRuns: 60, seed: 4242 },
    );
  });
});

describe("what the sync loop charges", () => {
  test("counting only the changed Services gives the counts and stale chains of the whole transaction", () => {
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const start = mixedCluster();
        let plane = compileNftables(start, OPTS);
        for (const cluster of clustersAfter(start, batches)) {
          const next = compileNftables(cluster, OPTS, plane);
          const counted = next.syncWritesFrom(plane, "partial");
          const countedStale = [...next.staleChains];
          const tx = next.transactionFrom(plane, "partial");
          expect(counted).toEqual({
            full: false,
            rulesWritten: tx.rulesAdded,
            chainsWritten: tx.chainsFlushed + tx.chainsDeleted,
            elementsWritten: tx.elementsAdded + tx.elementsDeleted + tx.setsAdded + tx.setsDeleted,
            tableRules: next.size().rules,
          });
          expect(countedStale).toEqual([...next.staleChains]);
          // A sync against the very same plane counts what an equal plane compiled anew does.
          const solo = compileNftables(cluster, OPTS);
          const twin = compileNftables(cluster, OPTS).syncWritesFrom(solo, "partial");
          const self = solo.syncWritesFrom(solo, "partial");
          expect(self).toEqual(twin);
          expect(self.rulesWritten + self.chainsWritten + self.elementsWritten).toBe(0);
          plane = next;
        }
      }),
      { numRuns: 100, seed: 977 },
    );
  });
});

/**
 * The simulator's control plane publishes new objects for what changed and keeps the others:
 * the same here, by putting back the previous state's objects wherever nothing changed.
 */
function sharingUnchanged(prev: ClusterState, next: ClusterState): ClusterState {
  const same = <T>(olds: T[], x: T): T => olds.find((o) => JSON.stringify(o) === JSON.stringify(x)) ?? x;
  return { ...next, services: next.services.map((s) => same(prev.services, s)), endpointSlices: next.endpointSlices.map((s) => same(prev.endpointSlices, s)) };
}

describe("compiling over the previous plane", () => {
  test("reusing the sections of unchanged Service and slice objects gives the table a fresh compile gives", () => {
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const start = mixedCluster();
        let plane = compileNftables(start, OPTS);
        let reused = 0;
        for (const next of clustersAfter(start, batches, true)) {
          const incremental = compileNftables(next, OPTS, plane);
          reused += incremental.sections.filter((s) => plane.sections.includes(s)).length;
          expect(incremental.render()).toBe(compileNftables(next, OPTS).render());
          plane = incremental;
        }
        // The shortcut was taken (not every Service changes at every step).
        expect(reused).toBeGreaterThan(0);
      }),
      { numRuns: 60, seed: 31 },
    );
  });
});
