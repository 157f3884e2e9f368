/**
 * Cost profiles: turning the work a kube-proxy mode did into time.
 *
 * The modes count what the kernel did for a packet (rules traversed, matches tried, map
 * lookups, chain jumps) and what a sync writes (rules, chains, map elements). How long that
 * takes on a given machine is DATA, read from a profile file (`profiles/default.json` ships,
 * calibrated on `../shared/reference/published.csv`); a user passes their own file to model
 * another machine. Nothing in this file knows a number of its own.
 *
 * The model, per first packet of a connection in mode m (all times in ns):
 *
 *   cost = roundTrip + conntrackLookup + conntrackInsert + m.fixed
 *        + rulesTraversed · (m.perRule + miss · m.missPenalty)
 *        + matchesTried · m.perMatch
 *        + mapLookups · (m.perMapLookup + miss · m.missPenalty)
 *        + chainJumps · m.perChainJump
 *
 *   miss = max(0, 1 − cacheBytes / workingSet),   workingSet = rules · m.bytesPerRule
 *                                                            + mapElements · m.bytesPerMapElement
 *
 * `miss` is the fraction of rule (or bucket) visits that go to memory: the share of the rule
 * set that cannot stay resident. 0 while the rule set fits the cache, then rising continuously
 * (no jump) towards 1 as it outgrows it. It is what bends iptables' line upwards between 10k and
 * 30k Services. (A smoother law, exp(−cache/workingSet), was tried: it already charges misses
 * at 10k Services, where the published figures show none, and fitted worse.)
 *
 * A sync (kube-proxy writing its rules) costs, per mode:
 *
 *   iptables:  fixed + perRuleWritten · Rw + perTableRule · Rt + perRuleWrittenPerTableRule · Rw · Rt
 *   nftables:  fixed + perRule · Rw + perChain · Cw + perElement · Ew + transaction · Cw^exponent
 *   ipvs:      fixed + perOperation · (Rw + Ew) + perTableEntry · Rt
 *
 * (Rw/Cw/Ew: rules/chains/elements written; Rt: rules in the table after the sync.)
 *
 * Variability: both kinds of cost are means. `sampleFirstPacketCost` draws one packet's time with
 * the caller's seeded stream: the round trip times a lognormal factor of mean 1 and coefficient
 * of variation `jitter.roundTripCv` (network and stack noise), plus the data plane's share times
 * another of cv `jitter.workCv` (cache state, interrupts). A sync's duration takes one factor of
 * cv `sync.jitter.cv` (`sampleJitter`).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { InputError, showValue } from "../../sim/errors.js";
import type { Nanos } from "../../sim/time.js";
import type { DataPlaneSize, ProxyModeName, UniformSource, Work } from "./types.js";
import defaultProfileData from "./profiles/default.json" with { type: "json" };

/** Free text documenting a section's fields (name → meaning and unit); ignored by the model. */
const about = z.record(z.string(), z.string()).optional();
const nonNegative = z.number().finite().nonnegative();
const positive = z.number().finite().positive();

const firstPacketModeSchema = z.strictObject({
  about,
  fixedNs: nonNegative,
  perRuleNs: nonNegative,
  perMatchNs: nonNegative,
  perMapLookupNs: nonNegative,
  perChainJumpNs: nonNegative,
  bytesPerRule: nonNegative,
  bytesPerMapElement: nonNegative,
  missPenaltyNs: nonNegative,
});

const jitterSchema = z.strictObject({
  about,
  /** Coefficient of variation of the multiplicative lognormal factor (0: no jitter). */
  cv: nonNegative,
});

const firstPacketJitterSchema = z.strictObject({
  about,
  /** cv of the factor on the network round trip. */
  roundTripCv: nonNegative,
  /** cv of the factor on the data plane's share (conntrack, rules, lookups, misses). */
  workCv: nonNegative,
});

const iptablesRestoreSchema = z.strictObject({
  about,
  fixedNs: nonNegative,
  perRuleWrittenNs: nonNegative,
  perTableRuleNs: nonNegative,
  perRuleWrittenPerTableRuleNs: nonNegative,
});

const costProfileSchema = z.strictObject({
  about,
  name: z.string().min(1),
  description: z.string().optional(),
  firstPacket: z.strictObject({
    about,
    roundTripNs: nonNegative,
    conntrackLookupNs: nonNegative,
    conntrackInsertNs: nonNegative,
    cacheBytes: positive,
    jitter: firstPacketJitterSchema,
    modes: z.strictObject({
      iptables: firstPacketModeSchema,
      nftables: firstPacketModeSchema,
      ipvs: firstPacketModeSchema,
    }),
  }),
  sync: z.strictObject({
    about,
    jitter: jitterSchema,
    iptables: z.strictObject({
      about,
      /** Which iptables-restore kube-proxy runs: the legacy (x_tables) or the nf_tables backend. */
      backend: z.enum(["legacy", "nft"]),
      legacy: iptablesRestoreSchema,
      nft: iptablesRestoreSchema,
    }),
    nftables: z.strictObject({
      about,
      fixedNs: nonNegative,
      perRuleNs: nonNegative,
      perChainNs: nonNegative,
      perElementNs: nonNegative,
      transactionNs: nonNegative,
      transactionExponent: z.number().finite().min(1).max(6),
    }),
    ipvs: z.strictObject({
      about,
      fixedNs: nonNegative,
      perOperationNs: nonNegative,
      perTableEntryNs: nonNegative,
    }),
  }),
});

export type CostProfile = z.infer<typeof costProfileSchema>;
export type FirstPacketModeCosts = z.infer<typeof firstPacketModeSchema>;

/** Where a profile's value sits, as an InputError field path: `firstPacket.modes.iptables.perRuleNs`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Validates a parsed profile; a bad one raises an InputError naming the field, what was
 * expected and what was found (the first problem only, as the CLI prints one line).
 */
export function parseCostProfile(data: unknown, file?: string): CostProfile {
  const result = costProfileSchema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  let path: readonly PropertyKey[] = issue.path;
  let expected: string = issue.message;
  let found: unknown = valueAt(data, path);
  if (issue.code === "unrecognized_keys") {
    // Name the unknown key itself: most often a typo of a real one.
    const key = issue.keys[0];
    path = [...issue.path, key];
    expected = "one of the fields of a cost profile (unknown field)";
    found = valueAt(data, path);
  } else if (issue.code === "invalid_type") {
    expected = found === undefined ? `a ${issue.expected} (the field is required)` : `a ${issue.expected}`;
  }
  throw new InputError("invalid cost profile", {
    file,
    fieldPath: formatPath(path),
    expected,
    found: showValue(found),
  });
}

let defaultProfile: CostProfile | undefined;

/**
 * Reads a cost profile. Without a path, the shipped default (`profiles/default.json`). A file
 * that cannot be read or is not JSON, or a profile that does not validate, raises an InputError.
 */
export function loadCostProfile(path?: string): CostProfile {
  if (path === undefined) {
    defaultProfile ??= parseCostProfile(defaultProfileData, "models/proxy/profiles/default.json");
    return defaultProfile;
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError("cannot read the cost profile", {
      file: path,
      expected: "a readable JSON file",
      found: err instanceof Error ? err.message : String(err),
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError("the cost profile is not valid JSON", {
      file: path,
      expected: "JSON",
      found: err instanceof Error ? err.message : String(err),
    });
  }
  return parseCostProfile(data, path);
}

/** The cost of one first packet, term by term (ns); `total` is their sum. */
export interface FirstPacketCostBreakdown {
  /** The network round trip the published figures include (client → pod → client). */
  roundTrip: Nanos;
  /** One conntrack lookup (a miss, for a new connection) and the insert of the new entry. */
  conntrack: Nanos;
  /** The mode's per-packet overhead that the work counts do not capture. */
  fixed: Nanos;
  rules: Nanos;
  matches: Nanos;
  mapLookups: Nanos;
  chainJumps: Nanos;
  /** Extra time of rule and bucket visits that missed the cache. */
  cacheMisses: Nanos;
  /** Fraction of visits that missed the cache, 0..1. */
  missFraction: number;
  total: Nanos;
}

/** Fraction of rule visits that go to memory, given the rule set's size (see the file comment). */
export function cacheMissFraction(profile: CostProfile, mode: ProxyModeName, size: DataPlaneSize): number {
  const m = profile.firstPacket.modes[mode];
  const workingSet = size.rules * m.bytesPerRule + size.mapElements * m.bytesPerMapElement;
  if (!(workingSet > profile.firstPacket.cacheBytes)) return 0;
  return 1 - profile.firstPacket.cacheBytes / workingSet;
}

export function firstPacketCostBreakdown(
  profile: CostProfile,
  mode: ProxyModeName,
  work: Work,
  size: DataPlaneSize,
): FirstPacketCostBreakdown {
  const fp = profile.firstPacket;
  const m = fp.modes[mode];
  const miss = cacheMissFraction(profile, mode, size);
  const roundTrip = fp.roundTripNs;
  const conntrack = fp.conntrackLookupNs + fp.conntrackInsertNs;
  const rules = work.rulesTraversed * m.perRuleNs;
  const matches = work.matchesTried * m.perMatchNs;
  const mapLookups = work.mapLookups * m.perMapLookupNs;
  const chainJumps = work.chainJumps * m.perChainJumpNs;
  const cacheMisses = (work.rulesTraversed + work.mapLookups) * miss * m.missPenaltyNs;
  const total = roundTrip + conntrack + m.fixedNs + rules + matches + mapLookups + chainJumps + cacheMisses;
  return {
    roundTrip,
    conntrack,
    fixed: m.fixedNs,
    rules,
    matches,
    mapLookups,
    chainJumps,
    cacheMisses,
    missFraction: miss,
    total,
  };
}

/**
 * Mean time of the first packet of a new connection (ns, not rounded): the network round trip
 * plus conntrack plus the work the mode's rules made the kernel do, with the cache term driven
 * by the plane's size. Comparable with the published first-packet RTTs; subtract
 * `profile.firstPacket.roundTripNs` for the data plane's own share.
 */
export function firstPacketCost(profile: CostProfile, mode: ProxyModeName, work: Work, size: DataPlaneSize): Nanos {
  return firstPacketCostBreakdown(profile, mode, work, size).total;
}

/**
 * One first packet's time (ns), jittered: the round trip times a lognormal factor of cv
 * `jitter.roundTripCv`, plus the rest times one of cv `jitter.workCv`; both factors have mean
 * 1, so the mean over packets is firstPacketCost. Four draws from `rng` (none for a cv of 0).
 */
export function sampleFirstPacketCost(
  profile: CostProfile,
  mode: ProxyModeName,
  work: Work,
  size: DataPlaneSize,
  rng: UniformSource,
): Nanos {
  const b = firstPacketCostBreakdown(profile, mode, work, size);
  const j = profile.firstPacket.jitter;
  return b.roundTrip * sampleJitter(j.roundTripCv, rng) + (b.total - b.roundTrip) * sampleJitter(j.workCv, rng);
}

/**
 * What a later packet of a tracked connection pays in the data plane: one conntrack lookup
 * (the nat table is not consulted again). Without the network round trip.
 */
export function establishedPacketCost(profile: CostProfile): Nanos {
  return profile.firstPacket.conntrackLookupNs;
}

/** What one sync writes, as the sync loop measures it. */
export interface SyncWrites {
  /** A full sync rewrites everything; a partial one only what changed (plus, for iptables, the always-rewritten chains). */
  full: boolean;
  rulesWritten: number;
  chainsWritten: number;
  /** nftables map/set elements added or removed; IPVS and ipset operations. */
  elementsWritten: number;
  /** Rules in the table once the sync is done (iptables: nat + filter; IPVS: virtual + real servers). */
  tableRules: number;
}

/**
 * Mean duration of one sync (ns): the restore/transaction/ipvsadm work for what it writes, per
 * the formulas in the file comment. `full` selects nothing by itself: the caller sets the
 * written counts to the whole table for a full sync.
 */
export function syncCost(profile: CostProfile, mode: ProxyModeName, writes: SyncWrites): Nanos {
  const s = profile.sync;
  switch (mode) {
    case "iptables": {
      const r = s.iptables[s.iptables.backend];
      return (
        r.fixedNs +
        r.perRuleWrittenNs * writes.rulesWritten +
        r.perTableRuleNs * writes.tableRules +
        r.perRuleWrittenPerTableRuleNs * writes.rulesWritten * writes.tableRules
      );
    }
    case "nftables": {
      const n = s.nftables;
      return (
        n.fixedNs +
        n.perRuleNs * writes.rulesWritten +
        n.perChainNs * writes.chainsWritten +
        n.perElementNs * writes.elementsWritten +
        n.transactionNs * Math.pow(writes.chainsWritten, n.transactionExponent)
      );
    }
    case "ipvs": {
      const v = s.ipvs;
      return (
        v.fixedNs + v.perOperationNs * (writes.rulesWritten + writes.elementsWritten) + v.perTableEntryNs * writes.tableRules
      );
    }
  }
}

/**
 * A multiplicative jitter factor: lognormal with mean 1 and coefficient of variation `cv`
 * (1 exactly when cv is 0, drawing nothing). Two draws from `rng` otherwise (Box–Muller).
 * Multiply a mean cost by it: `syncCost(...) * sampleJitter(profile.sync.jitter.cv, rng)`.
 */
export function sampleJitter(cv: number, rng: UniformSource): number {
  if (cv <= 0) return 1;
  const sigma2 = Math.log1p(cv * cv);
  const sigma = Math.sqrt(sigma2);
  const u1 = 1 - rng.next(); // (0, 1]: log is finite
  const u2 = rng.next();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(sigma * z - sigma2 / 2);
}
