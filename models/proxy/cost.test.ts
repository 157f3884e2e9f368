import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../sim/errors.js";
import { createStream } from "../../sim/random.js";
import {
  cacheMissFraction,
  firstPacketCost,
  firstPacketCostBreakdown,
  loadCostProfile,
  parseCostProfile,
  sampleFirstPacketCost,
  sampleJitter,
  syncCost,
} from "./cost.js";
import type { CostProfile, SyncWrites } from "./cost.js";
import type { DataPlaneSize, Work } from "./types.js";

const profile = loadCostProfile();
const clone = (): Record<string, unknown> => JSON.parse(JSON.stringify(profile)) as Record<string, unknown>;

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error("expected an InputError");
}

const work = (rulesTraversed: number, matchesTried = 0, mapLookups = 0, chainJumps = 0): Work => ({
  rulesTraversed,
  matchesTried,
  mapLookups,
  chainJumps,
});
const small: DataPlaneSize = { rules: 100, chains: 10, mapElements: 0 };

/** Rules of a measured kube-proxy-shaped table: 14 nat rules per Service with 4 endpoints. */
const RULES_PER_SERVICE = 14;

describe("loading profiles", () => {
  it("loads and validates the default profile, once", () => {
    expect(profile.name).toBe("default");
    expect(loadCostProfile()).toBe(profile);
    expect(profile.firstPacket.roundTripNs).toBeGreaterThan(0);
  });

  it("reads a user's profile from a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "svcsim-cost-"));
    const data = clone();
    data.name = "mine";
    const file = join(dir, "mine.json");
    writeFileSync(file, JSON.stringify(data));
    expect(loadCostProfile(file).name).toBe("mine");
  });

  it("names the field of a bad value, what was expected and what was found", () => {
    const data = clone() as { firstPacket: { modes: { iptables: { perRuleNs: unknown } } } };
    data.firstPacket.modes.iptables.perRuleNs = -3;
    const err = inputError(() => parseCostProfile(data, "bad.json"));
    expect(err.file).toBe("bad.json");
    expect(err.fieldPath).toBe("firstPacket.modes.iptables.perRuleNs");
    expect(err.found).toBe("-3");
    expect(err.format()).toMatch(/bad\.json: firstPacket\.modes\.iptables\.perRuleNs: invalid cost profile/);
  });

  it("names a missing field and an unknown (misspelt) one", () => {
    const missing = clone() as { sync: { nftables: Record<string, unknown> } };
    delete missing.sync.nftables.perChainNs;
    const e1 = inputError(() => parseCostProfile(missing));
    expect(e1.fieldPath).toBe("sync.nftables.perChainNs");
    expect(e1.expected).toMatch(/required/);

    const typo = clone() as { firstPacket: Record<string, unknown> };
    typo.firstPacket.rountTripNs = 1;
    const e2 = inputError(() => parseCostProfile(typo));
    expect(e2.fieldPath).toBe("firstPacket.rountTripNs");
    expect(e2.expected).toMatch(/unknown field/);
  });

  it("rejects a wrong type and an unknown backend", () => {
    const data = clone() as { sync: { iptables: { backend: unknown } } };
    data.sync.iptables.backend = "xtables";
    expect(inputError(() => parseCostProfile(data)).fieldPath).toBe("sync.iptables.backend");
    const data2 = clone() as { firstPacket: { cacheBytes: unknown } };
    data2.firstPacket.cacheBytes = "4MB";
    const e = inputError(() => parseCostProfile(data2));
    expect(e.fieldPath).toBe("firstPacket.cacheBytes");
    expect(e.found).toBe('"4MB"');
  });

  it("reports an unreadable file and a file that is not JSON", () => {
    expect(inputError(() => loadCostProfile("/nonexistent/profile.json")).file).toBe("/nonexistent/profile.json");
    const dir = mkdtempSync(join(tmpdir(), "svcsim-cost-"));
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ not json");
    expect(inputError(() => loadCostProfile(file)).message).toMatch(/not valid JSON/);
  });
});

describe("first-packet cost", () => {
  it("is the round trip plus conntrack plus the mode's work", () => {
    const b = firstPacketCostBreakdown(profile, "iptables", work(0), small);
    const fp = profile.firstPacket;
    expect(b.total).toBeCloseTo(fp.roundTripNs + fp.conntrackLookupNs + fp.conntrackInsertNs + fp.modes.iptables.fixedNs);
    const sum = b.roundTrip + b.conntrack + b.fixed + b.rules + b.matches + b.mapLookups + b.chainJumps + b.cacheMisses;
    const b2 = firstPacketCostBreakdown(profile, "ipvs", work(10, 20, 3, 2), small);
    expect(b2.total).toBeCloseTo(
      b2.roundTrip + b2.conntrack + b2.fixed + b2.rules + b2.matches + b2.mapLookups + b2.chainJumps + b2.cacheMisses,
    );
    expect(sum).toBeCloseTo(b.total);
  });

  it("grows linearly with the rules traversed at a fixed table size", () => {
    const size: DataPlaneSize = { rules: 70_000, chains: 25_000, mapElements: 0 };
    const c0 = firstPacketCost(profile, "iptables", work(0), size);
    const c1 = firstPacketCost(profile, "iptables", work(1000, 3000), size);
    const c2 = firstPacketCost(profile, "iptables", work(2000, 6000), size);
    expect(c1).toBeGreaterThan(c0);
    expect(c2 - c1).toBeCloseTo(c1 - c0, 6);
  });

  it("charges each unit of work what the profile says", () => {
    const m = profile.firstPacket.modes.nftables;
    const base = firstPacketCost(profile, "nftables", work(0), small);
    const miss = cacheMissFraction(profile, "nftables", small);
    expect(firstPacketCost(profile, "nftables", work(0, 1), small) - base).toBeCloseTo(m.perMatchNs);
    expect(firstPacketCost(profile, "nftables", work(0, 0, 0, 1), small) - base).toBeCloseTo(m.perChainJumpNs);
    expect(firstPacketCost(profile, "nftables", work(0, 0, 1), small) - base).toBeCloseTo(
      m.perMapLookupNs + miss * m.missPenaltyNs,
    );
  });

  it("has a cache term that is 0 while the rule set fits and rises continuously towards 1 beyond", () => {
    const m = profile.firstPacket.modes.iptables;
    const rulesFitting = profile.firstPacket.cacheBytes / m.bytesPerRule;
    const f = (rules: number): number => cacheMissFraction(profile, "iptables", { rules, chains: 0, mapElements: 0 });
    expect(f(0)).toBe(0);
    expect(f(rulesFitting)).toBe(0);
    expect(f(rulesFitting * 2)).toBeCloseTo(0.5);
    expect(f(rulesFitting * 100)).toBeCloseTo(0.99);
    let prev = 0;
    for (let r = rulesFitting; r < rulesFitting * 50; r *= 1.05) {
      const v = f(r);
      expect(v).toBeGreaterThanOrEqual(prev);
      expect(v - prev).toBeLessThan(0.05); // no jump
      prev = v;
    }
    // The per-rule cost rises with the table even for the same walk.
    const walk = work(5000, 15000);
    const inCache = firstPacketCost(profile, "iptables", walk, { rules: rulesFitting / 10, chains: 0, mapElements: 0 });
    const outOfCache = firstPacketCost(profile, "iptables", walk, { rules: rulesFitting * 10, chains: 0, mapElements: 0 });
    expect(outOfCache).toBeGreaterThan(inCache);
  });
});

describe("sync cost", () => {
  const full = (mode: "iptables" | "nftables", services: number, p: CostProfile = profile): number => {
    const rules = RULES_PER_SERVICE * services;
    const writes: SyncWrites =
      mode === "iptables"
        ? { full: true, rulesWritten: rules, chainsWritten: 5 * services, elementsWritten: 0, tableRules: rules }
        : { full: true, rulesWritten: 10 * services, chainsWritten: 5 * services, elementsWritten: 5 * services, tableRules: 10 * services };
    return syncCost(p, mode, writes) / 1e9;
  };

  it("reproduces the measured iptables-legacy-restore full restores within 10 %", () => {
    const measured: [number, number][] = [
      [1000, 0.16],
      [5000, 0.97],
      [10000, 2.6],
      [20000, 7.1],
    ];
    for (const [n, t] of measured) expect(Math.abs(full("iptables", n) / t - 1)).toBeLessThan(0.1);
  });

  it("reproduces the measured iptables-nft-restore full restores within 10 % with the nft backend", () => {
    const p = JSON.parse(JSON.stringify(profile)) as CostProfile;
    p.sync.iptables.backend = "nft";
    const measured: [number, number][] = [
      [1000, 0.36],
      [5000, 2.3],
      [10000, 5.7],
      [20000, 17.5],
    ];
    for (const [n, t] of measured) expect(Math.abs(full("iptables", n, p) / t - 1)).toBeLessThan(0.1);
  });

  it("reproduces the measured nft -f full loads within 30 % (superlinear)", () => {
    const measured: [number, number][] = [
      [1000, 0.44],
      [5000, 4.6],
      [20000, 331],
    ];
    for (const [n, t] of measured) expect(Math.abs(full("nftables", n) / t - 1)).toBeLessThan(0.3);
  });

  it("grows superlinearly for a full iptables restore, and a partial restore costs far less", () => {
    const t10 = full("iptables", 10_000);
    const t20 = full("iptables", 20_000);
    expect(t20 / t10).toBeGreaterThan(2.2);
    const tableRules = RULES_PER_SERVICE * 10_000;
    // KEP-3453 partial sync: KUBE-SERVICES (one rule per Service) plus one changed Service's chains.
    const partial = syncCost(profile, "iptables", {
      full: false,
      rulesWritten: 10_000 + RULES_PER_SERVICE,
      chainsWritten: 5,
      elementsWritten: 0,
      tableRules,
    });
    expect(partial / 1e9).toBeLessThan(t10 / 4);
  });

  it("makes an nftables incremental transaction proportional to what it writes", () => {
    const one = (k: number): number =>
      syncCost(profile, "nftables", {
        full: false,
        rulesWritten: 10 * k,
        chainsWritten: 5 * k,
        elementsWritten: 5 * k,
        tableRules: 100_000,
      }) - profile.sync.nftables.fixedNs;
    expect(one(2) / one(1)).toBeCloseTo(2, 2);
    expect(one(1)).toBeLessThan(1e6); // under a millisecond for one Service
  });

  it("charges IPVS per operation plus the listing of the table", () => {
    const v = profile.sync.ipvs;
    const t = syncCost(profile, "ipvs", { full: false, rulesWritten: 3, chainsWritten: 0, elementsWritten: 2, tableRules: 1000 });
    expect(t).toBeCloseTo(v.fixedNs + 5 * v.perOperationNs + 1000 * v.perTableEntryNs);
  });
});

describe("jitter", () => {
  it("samples first packets around the mean cost, the round trip and the work jittered apart", () => {
    const rng = createStream(3, 0, "first-packet");
    const w = work(2000, 2000, 0, 8);
    const size: DataPlaneSize = { rules: 70_000, chains: 25_000, mapElements: 0 };
    const mean = firstPacketCost(profile, "iptables", w, size);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) sum += sampleFirstPacketCost(profile, "iptables", w, size, rng);
    expect(sum / n / mean).toBeCloseTo(1, 1);
    const still = JSON.parse(JSON.stringify(profile)) as CostProfile;
    still.firstPacket.jitter.roundTripCv = 0;
    still.firstPacket.jitter.workCv = 0;
    expect(sampleFirstPacketCost(still, "iptables", w, size, rng)).toBe(firstPacketCost(still, "iptables", w, size));
  });

  it("is exactly 1 without variation and draws nothing", () => {
    let draws = 0;
    expect(sampleJitter(0, { next: () => (draws++, 0.5) })).toBe(1);
    expect(draws).toBe(0);
  });

  it("has mean 1 and the requested coefficient of variation", () => {
    const rng = createStream(7, 0, "jitter-test");
    const n = 40_000;
    let s = 0;
    let s2 = 0;
    let min = Infinity;
    for (let i = 0; i < n; i++) {
      const x = sampleJitter(0.4, rng);
      min = Math.min(min, x);
      s += x;
      s2 += x * x;
    }
    const mean = s / n;
    const sd = Math.sqrt(s2 / n - mean * mean);
    expect(min).toBeGreaterThan(0);
    expect(mean).toBeCloseTo(1, 1);
    expect(Math.abs(sd / mean - 0.4)).toBeLessThan(0.03);
  });
});
