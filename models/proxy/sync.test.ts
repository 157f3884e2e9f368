import { describe, expect, it } from "vitest";
import { Simulation } from "../../sim/engine.js";
import { createStream } from "../../sim/random.js";
import { NS_PER_MS, NS_PER_S } from "../../sim/time.js";
import { loadCostProfile, syncCost } from "./cost.js";
import { IptablesDataPlane, compileIptables } from "./iptables/index.js";
import { compileIpvs } from "./ipvs/index.js";
import { NftablesDataPlane, compileNftables } from "./nftables/index.js";
import { TEST_NODE, buildCluster } from "./nftables/testClusters.js";
import type { ServiceSpec } from "./nftables/testClusters.js";
import { KubeProxySync, estimateSyncWrites, exactSyncWrites } from "./sync.js";
import type { KubeProxySyncOptions } from "./sync.js";
import type { CompiledDataPlane, DataPlaneSize, ProxyModeName } from "./types.js";

const profile = loadCostProfile();
const s = (x: number): number => Math.round(x * NS_PER_S);
const ms = (x: number): number => Math.round(x * NS_PER_MS);

/** A stand-in plane: only its size matters to the sync loop; `version` tells planes apart. */
function stubPlane(mode: ProxyModeName, size: DataPlaneSize, version: number): CompiledDataPlane & { version: number } {
  return {
    mode,
    nodeName: "node-1",
    version,
    render: () => `# version ${version}\n`,
    evaluate: () => ({ action: "none", masquerade: false, work: { rulesTraversed: 0, matchesTried: 0, mapLookups: 0, chainJumps: 0 } }),
    size: () => size,
  };
}

/** iptables with S Services × 4 endpoints: 14 nat rules and 5 chains per Service (as measured). */
function iptablesSize(services: number): DataPlaneSize {
  return { rules: 14 * services + 20, chains: 5 * services + 10, mapElements: 0 };
}

interface Harness {
  sim: Simulation;
  sync: KubeProxySync;
  /** Bumped by the test whenever the "cluster state" changes. */
  state: { version: number };
}

function harness(overrides: Partial<KubeProxySyncOptions> = {}, services = 100): Harness {
  const sim = new Simulation();
  const state = { version: 0 };
  const mode = overrides.mode ?? "iptables";
  const size = iptablesSize(services);
  const sync = new KubeProxySync(sim, {
    mode,
    nodeName: "node-1",
    profile,
    minSyncPeriod: s(1),
    syncPeriod: s(30),
    compile: () => stubPlane(mode, size, state.version),
    serviceCount: () => services,
    ...overrides,
  });
  return { sim, sync, state };
}

/** Schedules a change at the source at `at`, delivered to kube-proxy `watchDelay` later. */
function changeAt(h: Harness, at: number, watchDelay: number, service = "default/web"): void {
  const deliver = h.sim.on(() => {
    h.state.version++;
    h.sync.notifyChange(at, [service]);
  });
  h.sim.scheduleAt(at + watchDelay, deliver);
}

describe("batching and the minSyncPeriod bound", () => {
  it("batches changes 100 ms apart into syncs at most once per second", () => {
    const h = harness();
    const starts: number[] = [];
    const h2 = harness({
      onProgrammed: (_p, rec) => starts.push(rec.start),
    });
    for (let i = 0; i < 30; i++) changeAt(h2, s(10) + i * ms(100), 0);
    h2.sim.run(s(20));
    const st = h2.sync.stats();
    expect(st.changesProgrammed).toBe(30);
    // 3 s of changes at 1 sync/s: about 4 syncs, not 30.
    expect(st.syncs).toBeGreaterThanOrEqual(3);
    expect(st.syncs).toBeLessThanOrEqual(5);
    expect(st.maxBatch).toBeGreaterThanOrEqual(9);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(s(1));
    // No changes: no syncs before the periodic one.
    h.sim.run(s(29));
    expect(h.sync.stats().syncs).toBe(0);
  });

  it("syncs at once after a quiet period, then makes an early change wait for the bound", () => {
    const starts: number[] = [];
    const h = harness({ onProgrammed: (_p, rec) => starts.push(rec.start) });
    changeAt(h, s(5), 0);
    changeAt(h, s(5.2), 0);
    h.sim.run(s(10));
    expect(starts).toEqual([s(5), s(6)]); // idle for 5 s: at once; 200 ms later: waits for the bound
    expect(h.sync.syncing).toBe(false);
  });

  it("allows a burst of syncs when burstSyncs > 1 (kube-proxy before 1.33)", () => {
    const starts: number[] = [];
    const h = harness({ burstSyncs: 2, onProgrammed: (_p, rec) => starts.push(rec.start) }, 10);
    changeAt(h, s(5), 0);
    changeAt(h, s(5.2), 0);
    changeAt(h, s(5.4), 0);
    h.sim.run(s(10));
    expect(starts[0]).toBe(s(5));
    expect(starts[1]).toBe(s(5.2));
    expect(starts[2]).toBeGreaterThanOrEqual(s(6));
  });
});

describe("full and partial syncs", () => {
  it("does a full sync every syncPeriod even without changes", () => {
    const fulls: number[] = [];
    const h = harness({ onProgrammed: (_p, rec) => rec.full && fulls.push(rec.start) });
    h.sim.run(s(95));
    expect(fulls).toEqual([s(30), s(60), s(90)]);
    expect(h.sync.stats().partialSyncs).toBe(0);
  });

  it("keeps the full syncs every syncPeriod while partial ones program changes", () => {
    const fulls: number[] = [];
    const h = harness({ onProgrammed: (_p, rec) => rec.full && fulls.push(rec.start) });
    for (let t = 0.5; t < 95; t += 0.7) changeAt(h, s(t), ms(50));
    h.sim.run(s(95));
    expect(fulls.length).toBe(3);
    for (let i = 0; i < fulls.length; i++) {
      expect(fulls[i]).toBeGreaterThanOrEqual(s(30 * (i + 1)));
      expect(fulls[i]).toBeLessThan(s(30 * (i + 1) + 1.1)); // at most one minSyncPeriod late
    }
    const st = h.sync.stats();
    expect(st.partialSyncs).toBeGreaterThan(60);
    expect(st.partialSyncDuration.quantile(0.5)).toBeLessThan(st.fullSyncDuration.quantile(0.5));
  });

  it("every sync is full without partial syncs; a fullSyncPeriod of 1 h makes syncPeriod resyncs partial", () => {
    const h = harness({ partialSyncs: false });
    changeAt(h, s(3), 0);
    h.sim.run(s(40));
    expect(h.sync.stats().partialSyncs).toBe(0);
    expect(h.sync.stats().fullSyncs).toBe(2);

    const h2 = harness({ fullSyncPeriod: s(3600) });
    h2.sim.run(s(95));
    expect(h2.sync.stats().fullSyncs).toBe(0);
    expect(h2.sync.stats().partialSyncs).toBe(3);
  });

  it("starts the periodic full sync at the given phase", () => {
    const fulls: number[] = [];
    const h = harness({ firstFullSyncAt: s(7), onProgrammed: (_p, rec) => rec.full && fulls.push(rec.start) });
    h.sim.run(s(70));
    expect(fulls).toEqual([s(7), s(37), s(67)]);
  });
});

describe("programming latency and what serves meanwhile", () => {
  it("serves the old rules until the sync completes, then the new ones", () => {
    const h = harness({}, 10_000);
    const initial = h.sync.current() as CompiledDataPlane & { version: number };
    expect(initial.version).toBe(0);
    changeAt(h, s(5), 0);
    h.sim.run(s(5));
    expect(h.sync.syncing).toBe(true);
    expect((h.sync.current() as CompiledDataPlane & { version: number }).version).toBe(0);
    h.sim.run(s(8));
    expect(h.sync.syncing).toBe(false);
    expect((h.sync.current() as CompiledDataPlane & { version: number }).version).toBe(1);
  });

  it("records latency = watch delay + wait for the bound + sync duration, and never less", () => {
    const watch = ms(300);
    const h = harness({}, 10_000);
    const durations: number[] = [];
    const h2 = harness({ onProgrammed: (_p, rec) => durations.push(rec.end - rec.start) }, 10_000);
    // First change: kube-proxy idle, so it syncs on delivery; the second arrives 100 ms after
    // that sync started and waits for it to end and for minSyncPeriod.
    changeAt(h2, s(10), watch);
    changeAt(h2, s(10) + ms(100), watch);
    h2.sim.run(s(20));
    const hist = h2.sync.stats().networkProgramming;
    expect(hist.count).toBe(2);
    const d1 = durations[0];
    const d2 = durations[1];
    const first = (watch + d1) / NS_PER_S;
    // Sync 1 starts at 10.3 s; sync 2 no earlier than 11.3 s and after sync 1 ends.
    const secondStart = Math.max(s(10) + watch + s(1), s(10) + watch + d1);
    const second = (secondStart + d2 - (s(10) + ms(100))) / NS_PER_S;
    expect(hist.min).toBeCloseTo(Math.min(first, second), 6);
    expect(hist.max).toBeCloseTo(Math.max(first, second), 6);
    expect(hist.min).toBeGreaterThanOrEqual(watch / NS_PER_S + Math.min(d1, d2) / NS_PER_S - 1e-9);
    // The duration is the profile's cost of what the sync wrote.
    const rec = h2.sync.stats().lastSync;
    expect(rec).toBeDefined();
    if (rec) expect(rec.end - rec.start).toBe(Math.round(syncCost(profile, "iptables", rec.writes)));
    expect(h.sync.stats().networkProgramming.count).toBe(0);
  });

  it("pools latencies of several nodes into one histogram and jitters durations with a stream", () => {
    const h1 = harness({ rng: createStream(1, 0, "sync/node-1") });
    const shared = h1.sync.stats().networkProgramming;
    const sync2 = new KubeProxySync(h1.sim, {
      mode: "iptables",
      nodeName: "node-2",
      profile,
      compile: () => stubPlane("iptables", iptablesSize(100), h1.state.version),
      serviceCount: () => 100,
      latency: shared,
      rng: createStream(1, 0, "sync/node-2"),
    });
    const deliver = h1.sim.on(() => {
      h1.state.version++;
      h1.sync.notifyChange(s(1), ["default/a"]);
      sync2.notifyChange(s(1), ["default/a"]);
    });
    h1.sim.scheduleAt(s(1.1), deliver);
    h1.sim.run(s(5));
    expect(shared.count).toBe(2);
    expect(shared.min).not.toBe(shared.max); // jittered apart
  });
});

describe("what a sync writes", () => {
  const plane = stubPlane("iptables", iptablesSize(10_000), 0);
  const ctx = (mode: ProxyModeName, full: boolean, changed: string[]) => ({
    mode,
    full,
    plane: stubPlane(mode, mode === "iptables" ? iptablesSize(10_000) : { rules: 100_000, chains: 50_000, mapElements: 10_000 }, 0),
    previous: stubPlane(mode, mode === "iptables" ? iptablesSize(10_000) : { rules: 100_000, chains: 50_000, mapElements: 10_000 }, 0),
    size: mode === "iptables" ? iptablesSize(10_000) : { rules: 100_000, chains: 50_000, mapElements: 10_000 },
    changedServices: new Set(changed),
    serviceCount: 10_000,
  });

  it("iptables partial: KUBE-SERVICES in full plus the changed Services' chains", () => {
    const w = estimateSyncWrites(ctx("iptables", false, ["a/b", "c/d"]));
    expect(w.rulesWritten).toBeCloseTo(10_000 + 2 * ((14 * 10_000 + 20 - 10_000) / 10_000), 6);
    expect(w.tableRules).toBe(plane.size().rules);
    const full = estimateSyncWrites(ctx("iptables", true, ["a/b"]));
    expect(full.rulesWritten).toBe(plane.size().rules);
  });

  it("uses a mode's exact footprint when given", () => {
    const w = estimateSyncWrites(ctx("nftables", false, ["a/b", "gone/x"]), (_p, svc) =>
      svc === "a/b" ? { rules: 7, chains: 3, elements: 2 } : undefined,
    );
    expect(w.rulesWritten).toBeCloseTo(7 + 10);
    expect(w.chainsWritten).toBeCloseTo(3 + 5);
    expect(w.elementsWritten).toBeCloseTo(2 + 1);
  });

  it("nftables incremental writes only what changed; IPVS lists the whole table every time", () => {
    const n = estimateSyncWrites(ctx("nftables", false, []));
    expect(n.rulesWritten + n.chainsWritten + n.elementsWritten).toBe(0);
    const v = estimateSyncWrites(ctx("ipvs", true, ["a/b"]));
    expect(v.tableRules).toBe(100_000);
    expect(v.rulesWritten).toBeCloseTo(10);
  });
});

describe("KEP-3453: partial syncs cut network programming latency", () => {
  it("lowers the p50 with 10k Services by the factor the model's sync durations imply", () => {
    const services = 10_000;
    const size = iptablesSize(services);
    const watch = ms(100);
    const run = (partialSyncs: boolean) => {
      const sim = new Simulation();
      const arrivals = createStream(42, 0, "kep3453/changes");
      const pick = createStream(42, 0, "kep3453/services");
      let version = 0;
      const sync = new KubeProxySync(sim, {
        mode: "iptables",
        nodeName: "node-1",
        profile,
        minSyncPeriod: s(1),
        syncPeriod: s(30),
        partialSyncs,
        compile: () => stubPlane("iptables", size, version),
        serviceCount: () => services,
      });
      // Endpoint changes to random Services, Poisson at 5 per second, for 10 minutes.
      const deliver = sim.on<number>((changedAt) => {
        version++;
        sync.notifyChange(changedAt, [`ns/svc-${Math.floor(pick.next() * services)}`]);
      });
      const arrive = sim.on(() => {
        sim.schedule(watch, deliver, sim.now);
        sim.schedule(Math.round(-Math.log(1 - arrivals.next()) * ms(200)), arrive);
      });
      sim.schedule(0, arrive);
      sim.run(s(600));
      return sync.stats();
    };
    const full = run(false);
    const partial = run(true);

    // The model's own numbers: sync durations at this size.
    const dFull = syncCost(profile, "iptables", {
      full: true,
      rulesWritten: size.rules,
      chainsWritten: size.chains,
      elementsWritten: 0,
      tableRules: size.rules,
    });
    const perService = (size.rules - services) / services;
    const changesPerSync = 5 * 1; // 5/s batched over about a second
    const dPartial = syncCost(profile, "iptables", {
      full: false,
      rulesWritten: services + changesPerSync * perService,
      chainsWritten: 0,
      elementsWritten: 0,
      tableRules: size.rules,
    });
    // Full only: dFull > minSyncPeriod, so syncs run back to back; a change waits for the
    // residual of the running sync (uniform in [0, dFull]) and then its own: median 1.5 dFull.
    expect(dFull).toBeGreaterThan(s(1));
    const expectedFull = (watch + 1.5 * dFull) / NS_PER_S;
    // Partial: syncs every max(minSyncPeriod, dPartial); median wait half of that, then dPartial.
    expect(dPartial).toBeLessThan(s(1));
    const expectedPartial = (watch + 0.5 * Math.max(s(1), dPartial) + dPartial) / NS_PER_S;
    const expectedFactor = expectedFull / expectedPartial;

    const p50Full = full.networkProgramming.quantile(0.5);
    const p50Partial = partial.networkProgramming.quantile(0.5);
    console.log(
      `KEP-3453 shape, 10k Services × 4 endpoints, iptables-legacy: full sync ${(dFull / NS_PER_S).toFixed(2)} s, ` +
        `partial ${(dPartial / NS_PER_S).toFixed(2)} s; network programming p50 full-only ${p50Full.toFixed(2)} s ` +
        `(expected ${expectedFull.toFixed(2)}), partial ${p50Partial.toFixed(2)} s (expected ${expectedPartial.toFixed(2)}); ` +
        `p99 ${full.networkProgramming.quantile(0.99).toFixed(2)} vs ${partial.networkProgramming.quantile(0.99).toFixed(2)} s`,
    );
    expect(p50Partial).toBeLessThan(p50Full);
    expect(Math.abs(p50Full / expectedFull - 1)).toBeLessThan(0.2);
    expect(Math.abs(p50Partial / expectedPartial - 1)).toBeLessThan(0.25);
    expect(p50Full / p50Partial).toBeGreaterThan(0.75 * expectedFactor);
    // The periodic full syncs still set the tail: p99 moves much less than p50.
    const p99Ratio = full.networkProgramming.quantile(0.99) / partial.networkProgramming.quantile(0.99);
    expect(p99Ratio).toBeLessThan(p50Full / p50Partial);
  });
});

describe("with the real modes", () => {
  const SERVICES = 30;
  function specs(moved: number | null): ServiceSpec[] {
    return Array.from({ length: SERVICES }, (_, i) => ({
      ns: "default",
      name: `svc-${i}`,
      clusterIP: `172.30.0.${i + 10}`,
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
      endpoints: [
        { ip: i === moved ? `10.180.${i}.99` : `10.180.${i}.1`, node: TEST_NODE },
        { ip: `10.180.${i}.2`, node: TEST_NODE },
      ],
    }));
  }
  const packetTo = (i: number) => ({
    srcIP: (10 << 24) | (1 << 16) | 5, // a pod 10.1.0.5 (pod CIDR 10.0.0.0/8)
    srcPort: 40000,
    dstIP: ((172 << 24) | (30 << 16) | (i + 10)) >>> 0,
    dstPort: 80,
    protocol: "TCP" as const,
    ingress: "local" as const,
  });
  /** The endpoints a Service's packets reach through a plane (many draws). */
  function endpointsOf(plane: CompiledDataPlane, i: number): Set<string> {
    const rng = createStream(5, 0, "endpoints");
    const out = new Set<string>();
    for (let k = 0; k < 64; k++) {
      const v = plane.evaluate(packetTo(i), rng);
      if (v.endpointIP !== undefined) out.add(`${v.endpointIP >>> 24}.${(v.endpointIP >>> 16) & 255}.${(v.endpointIP >>> 8) & 255}.${v.endpointIP & 255}`);
    }
    return out;
  }

  for (const mode of ["iptables", "nftables", "ipvs"] as const) {
    it(`${mode}: the moved endpoint is reached only once the sync completes; partial writes are the mode's own counts`, () => {
      const sim = new Simulation();
      let state = buildCluster({ services: specs(null) });
      const options = { nodeName: TEST_NODE, clusterCIDR: "10.0.0.0/8" };
      const sync = new KubeProxySync(sim, {
        mode,
        nodeName: TEST_NODE,
        profile,
        compile: ({ previous, changedServices, full }) => {
          if (mode === "iptables") {
            return previous instanceof IptablesDataPlane && !full
              ? previous.update(state, changedServices)
              : compileIptables(state, options);
          }
          if (mode === "ipvs") return compileIpvs(state, options);
          return compileNftables(state, options, previous instanceof NftablesDataPlane ? previous : undefined);
        },
        serviceCount: () => SERVICES,
      });
      const deliver = sim.on(() => {
        state = buildCluster({ services: specs(7) });
        sync.notifyChange(s(5), ["default/svc-7"]);
      });
      sim.scheduleAt(s(5) + ms(200), deliver);
      sim.run(s(5) + ms(200));
      expect(sync.syncing).toBe(true);
      expect(endpointsOf(sync.current(), 7)).toEqual(new Set(["10.180.7.1", "10.180.7.2"]));
      sim.run(s(10));
      expect(sync.syncing).toBe(false);
      expect(endpointsOf(sync.current(), 7)).toEqual(new Set(["10.180.7.99", "10.180.7.2"]));
      expect(endpointsOf(sync.current(), 8)).toEqual(new Set(["10.180.8.1", "10.180.8.2"]));

      const rec = sync.stats().lastSync;
      expect(rec?.full).toBe(false);
      const size = sync.current().size();
      if (!rec) return;
      if (mode === "iptables") {
        // KUBE-SERVICES & co. whole, plus svc-7's chains: more than one Service, less than all.
        const prev = compileIptables(buildCluster({ services: specs(null) }), options);
        const partial = (sync.current() as IptablesDataPlane).renderPartial(new Set(["default/svc-7"]), prev);
        expect(rec.writes.rulesWritten).toBe(partial.counts.filterRules + partial.counts.natRules);
        expect(rec.writes.rulesWritten).toBeLessThan(size.rules);
        expect(rec.writes.rulesWritten).toBeGreaterThan(SERVICES);
      } else if (mode === "nftables") {
        // One Service's chains and its elements changed; nothing else.
        expect(rec.writes.chainsWritten).toBeGreaterThan(0);
        expect(rec.writes.chainsWritten).toBeLessThan(10);
        expect(rec.writes.rulesWritten).toBeLessThan(size.rules / 10);
      } else {
        // ipvsadm -a for the new real server, -d for the old one; the whole table listed.
        expect(rec.writes.rulesWritten).toBe(2);
        expect(rec.writes.tableRules).toBe(size.rules);
      }
      expect(sync.stats().networkProgramming.count).toBe(1);
    });
  }

  it("counts a full sync as the whole plane, and leaves planes it cannot read to the estimate", () => {
    const state = buildCluster({ services: specs(null) });
    const plane = compileNftables(state, { nodeName: TEST_NODE, clusterCIDR: "10.0.0.0/8" });
    const w = exactSyncWrites({
      mode: "nftables",
      full: true,
      plane,
      previous: plane,
      size: plane.size(),
      changedServices: new Set(),
      serviceCount: SERVICES,
    });
    expect(w?.rulesWritten).toBe(plane.size().rules);
    expect(w?.elementsWritten).toBe(plane.size().mapElements);
    const stub = stubPlane("ipvs", { rules: 10, chains: 0, mapElements: 5 }, 0);
    expect(
      exactSyncWrites({ mode: "ipvs", full: false, plane: stub, previous: stub, size: stub.size(), changedServices: new Set(), serviceCount: 1 }),
    ).toBeUndefined();
  });
});
