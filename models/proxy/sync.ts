/**
 * kube-proxy's sync loop on one node, on the event engine.
 *
 * kube-proxy does not program a change the moment it hears of it. Changes (Services,
 * EndpointSlices) accumulate; a runner calls syncProxyRules, which compiles the whole state
 * and writes what it must, no more often than `minSyncPeriod` (a token bucket of rate
 * 1/minSyncPeriod; kube-proxy up to 1.32 allowed a burst of 2, later a strict 1) and at least
 * every `syncPeriod`. Runs never overlap: a change that arrives during a sync waits for the
 * next one. While a sync runs, the OLD rules serve packets; the new ones take over when the
 * restore (or nft transaction, or ipvsadm calls) completes.
 *
 * What a sync writes, and so how long it takes (the cost profile's `syncCost`):
 * - iptables, full: every rule of both tables. Partial (KEP-3453, MinimizeIPTablesRestore, on
 *   by default since 1.27): only the chains of Services that changed since the last sync
 *   (KUBE-SVC/SVL/EXT/FW/SEP), plus KUBE-SERVICES, KUBE-EXTERNAL-SERVICES and KUBE-NODEPORTS,
 *   which are rewritten in full on every sync. A full sync happens every `fullSyncPeriod`
 *   (by default `syncPeriod`, as in the KEP-3453 era whose measurements published.csv quotes;
 *   kube-proxy 1.28+ does a full sync only every hour and uses syncPeriod for partial resyncs:
 *   set fullSyncPeriod to 1h to model that).
 * - nftables: one transaction with what changed (chains flushed and refilled, map elements
 *   added or deleted); a full sync rewrites everything.
 * - IPVS: ipvsadm (netlink) operations for what changed, after listing every virtual and real
 *   server to diff against, on every sync; a "full" sync lists and diffs the same way.
 *
 * The sizes come from the planes themselves when the mode can tell (`exactSyncWrites`: iptables
 * counts each changed Service's chains and rules; nftables builds the very transaction from the
 * previous plane; IPVS diffs virtual/real servers and ipset entries against it); otherwise from
 * the plane's size and each changed Service's average share.
 *
 * Network programming latency: for every change delivered with `notifyChange(changedAt, ...)`,
 * the time from `changedAt` (when it happened at the source: kube-proxy reads it from the
 * EndpointSlice's last-change-trigger-time annotation) to the end of the sync that programmed
 * it on this node, recorded in seconds into a LogHistogram, as kube-proxy's
 * `network_programming_duration_seconds`. The caller delivers a change after the control
 * plane's watch delay, so that delay is part of the latency.
 */
import type { EventId, HandlerId, Simulation } from "../../sim/engine.js";
import { LogHistogram } from "../../sim/histogram.js";
import { NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";
import { sampleJitter, syncCost } from "./cost.js";
import type { CostProfile, SyncWrites } from "./cost.js";
import { IptablesDataPlane } from "./iptables/index.js";
import { countServiceChains } from "./iptables/render.js";
import { IpvsDataPlane } from "./ipvs/index.js";
import { NftablesDataPlane } from "./nftables/index.js";
import type { CompiledDataPlane, DataPlaneSize, ProxyModeName, UniformSource } from "./types.js";

/** What one Service contributes to a node's data plane (to size a partial write exactly). */
export interface ServiceFootprint {
  rules: number;
  chains: number;
  elements: number;
}

/** What compile() is told when a sync starts, so that it can recompile only what changed. */
export interface CompileContext {
  /** The plane programmed now (the one this sync replaces). */
  previous: CompiledDataPlane;
  /** Services ("namespace/name") changed since the previous sync started. */
  changedServices: ReadonlySet<string>;
  full: boolean;
}

/** Everything a write estimate may look at. */
export interface SyncWriteContext {
  mode: ProxyModeName;
  full: boolean;
  /** The plane this sync programs. */
  plane: CompiledDataPlane;
  /** The plane programmed now, which this sync replaces. */
  previous: CompiledDataPlane;
  size: DataPlaneSize;
  /** Distinct Services changed since the previous sync started. */
  changedServices: ReadonlySet<string>;
  /** Services (service ports) the plane programs. */
  serviceCount: number;
}

export interface KubeProxySyncOptions {
  mode: ProxyModeName;
  nodeName: string;
  profile: CostProfile;
  /** kube-proxy --{iptables,ipvs,nftables}-min-sync-period; default 1 s. 0: no bound. */
  minSyncPeriod?: Nanos;
  /** kube-proxy --*-sync-period: the longest time without a sync; default 30 s. */
  syncPeriod?: Nanos;
  /** Time between full syncs; default syncPeriod (see the file comment). */
  fullSyncPeriod?: Nanos;
  /**
   * Whether syncs between full ones are partial/incremental (default true). false: every sync
   * is full, as iptables mode was before KEP-3453.
   */
  partialSyncs?: boolean;
  /** Syncs allowed back to back before minSyncPeriod applies (token bucket burst); default 1. */
  burstSyncs?: number;
  /**
   * Compiles the cluster state as it is now for this node; called when a sync starts. It may
   * reuse `ctx.previous` for the Services not in `ctx.changedServices` (iptables' update(),
   * compileNftables' previous), as kube-proxy's change trackers do.
   */
  compile: (ctx: CompileContext) => CompiledDataPlane;
  /** The number of Service ports the state programs now (for a partial write's per-Service share). */
  serviceCount: () => number;
  /**
   * Exact footprint of one Service in a plane, if the mode can tell; otherwise a partial write
   * charges each changed Service the plane's average share.
   */
  serviceFootprint?: (plane: CompiledDataPlane, service: string) => ServiceFootprint | undefined;
  /** Replaces the write estimate altogether. */
  writes?: (ctx: SyncWriteContext) => SyncWrites;
  /** Use the modes' exact counts when the planes are the real modes' ones (default true). */
  exactWrites?: boolean;
  /** A seeded stream for the sync durations' jitter (profile.sync.jitter.cv); none: mean durations. */
  rng?: UniformSource;
  /** Where to record network programming latency (seconds); share one across nodes to pool them. */
  latency?: LogHistogram;
  /** The plane programmed when the loop starts; default: compile() now, with no previous plane (a node already in sync). */
  initial?: CompiledDataPlane;
  /** When the first periodic full sync is due; default now + fullSyncPeriod. Spread nodes' phases with it. */
  firstFullSyncAt?: Nanos;
  /** Called when a sync completes and its plane takes over. */
  onProgrammed?: (plane: CompiledDataPlane, sync: SyncRecord) => void;
}

/** One completed sync. */
export interface SyncRecord {
  start: Nanos;
  end: Nanos;
  full: boolean;
  writes: SyncWrites;
  /** Changes this sync programmed. */
  changes: number;
  /** Distinct Services among them. */
  services: number;
}

export interface KubeProxySyncStats {
  syncs: number;
  fullSyncs: number;
  partialSyncs: number;
  /** Changes programmed (each recorded in networkProgramming). */
  changesProgrammed: number;
  /** Changes delivered but not yet programmed. */
  changesPending: number;
  /** Most changes one sync programmed. */
  maxBatch: number;
  /** Network programming latency per change, seconds. */
  networkProgramming: LogHistogram;
  /** Sync durations, seconds (kube-proxy's sync_proxy_rules_duration_seconds), all / full / partial. */
  syncDuration: LogHistogram;
  fullSyncDuration: LogHistogram;
  partialSyncDuration: LogHistogram;
  /** Simulated time spent syncing. */
  busy: Nanos;
  lastSync: SyncRecord | undefined;
}

/** A stage of a sync in flight. */
interface InFlight {
  start: Nanos;
  full: boolean;
  plane: CompiledDataPlane;
  writes: SyncWrites;
  changedAt: number[];
  services: number;
}

/** Tolerance on token counts, so a start scheduled at a rounded time is not refused by 1e-12. */
const TOKEN_EPSILON = 1e-9;

export class KubeProxySync {
  readonly mode: ProxyModeName;
  readonly nodeName: string;
  readonly minSyncPeriod: Nanos;
  readonly syncPeriod: Nanos;
  readonly fullSyncPeriod: Nanos;
  readonly partialSyncs: boolean;
  readonly burstSyncs: number;

  private readonly sim: Simulation;
  private readonly options: KubeProxySyncOptions;
  private readonly hStart: HandlerId;
  private readonly hDone: HandlerId;
  private readonly hPeriodic: HandlerId;

  private programmed: CompiledDataPlane;
  private inFlight: InFlight | null = null;
  private startEvent: EventId | null = null;
  private periodicEvent: EventId | null = null;
  /** A sync is wanted (changes pending or the periodic timer fired) but not yet started. */
  private wanted = false;

  private pendingChangedAt: number[] = [];
  private pendingServices = new Set<string>();

  private tokens: number;
  private tokensAt: Nanos;
  private lastSyncStart: Nanos;
  private lastFullSyncStart: Nanos;
  private firstFullDue: Nanos | null;

  private readonly latencyHist: LogHistogram;
  private readonly counters = { syncs: 0, fullSyncs: 0, partialSyncs: 0, changesProgrammed: 0, maxBatch: 0, busy: 0 };
  private readonly syncDuration = new LogHistogram();
  private readonly fullSyncDuration = new LogHistogram();
  private readonly partialSyncDuration = new LogHistogram();
  private lastSync: SyncRecord | undefined;

  constructor(sim: Simulation, options: KubeProxySyncOptions) {
    this.sim = sim;
    this.options = options;
    this.mode = options.mode;
    this.nodeName = options.nodeName;
    this.minSyncPeriod = options.minSyncPeriod ?? NS_PER_S;
    this.syncPeriod = options.syncPeriod ?? 30 * NS_PER_S;
    this.fullSyncPeriod = options.fullSyncPeriod ?? this.syncPeriod;
    this.partialSyncs = options.partialSyncs ?? true;
    this.burstSyncs = options.burstSyncs ?? 1;
    if (!(this.minSyncPeriod >= 0 && Number.isFinite(this.minSyncPeriod))) {
      throw new RangeError(`KubeProxySync: minSyncPeriod must be >= 0, got ${this.minSyncPeriod}`);
    }
    if (!(this.syncPeriod > 0 && Number.isFinite(this.syncPeriod))) {
      throw new RangeError(`KubeProxySync: syncPeriod must be > 0, got ${this.syncPeriod}`);
    }
    if (!(this.fullSyncPeriod > 0 && Number.isFinite(this.fullSyncPeriod))) {
      throw new RangeError(`KubeProxySync: fullSyncPeriod must be > 0, got ${this.fullSyncPeriod}`);
    }
    if (!(this.burstSyncs >= 1) || !Number.isInteger(this.burstSyncs)) {
      throw new RangeError(`KubeProxySync: burstSyncs must be a positive integer, got ${this.burstSyncs}`);
    }
    this.latencyHist = options.latency ?? new LogHistogram();
    this.hStart = sim.on(() => this.onStart());
    this.hDone = sim.on(() => this.onDone());
    this.hPeriodic = sim.on(() => this.onPeriodic());

    // The node starts in sync: its rules were programmed by a full sync that just ended.
    const now = sim.now;
    this.programmed = options.initial ?? compileInitial(options.compile);
    this.tokens = this.burstSyncs;
    this.tokensAt = now;
    this.lastSyncStart = now;
    this.lastFullSyncStart = now;
    this.firstFullDue = options.firstFullSyncAt ?? null;
    if (this.firstFullDue !== null && !(this.firstFullDue >= now)) {
      throw new RangeError(`KubeProxySync: firstFullSyncAt ${this.firstFullDue} is before now ${now}`);
    }
    this.armPeriodic();
  }

  /** The data plane serving packets on this node now: the last one whose sync completed. */
  current(): CompiledDataPlane {
    return this.programmed;
  }

  /** Whether a sync is running now. */
  get syncing(): boolean {
    return this.inFlight !== null;
  }

  /**
   * Delivers a change to this node's kube-proxy, now (the caller has waited the watch delay):
   * `changedAt` is when it happened at the source, `services` the Services it touched
   * ("namespace/name"). The caller's state, which compile() reads, must already include it.
   */
  notifyChange(changedAt: Nanos, services: readonly string[]): void {
    if (!(changedAt <= this.sim.now)) {
      throw new RangeError(`KubeProxySync.notifyChange: changedAt ${changedAt} is after now ${this.sim.now}`);
    }
    this.pendingChangedAt.push(changedAt);
    for (const s of services) this.pendingServices.add(s);
    this.requestSync();
  }

  stats(): KubeProxySyncStats {
    return {
      syncs: this.counters.syncs,
      fullSyncs: this.counters.fullSyncs,
      partialSyncs: this.counters.partialSyncs,
      changesProgrammed: this.counters.changesProgrammed,
      changesPending: this.pendingChangedAt.length + (this.inFlight?.changedAt.length ?? 0),
      maxBatch: this.counters.maxBatch,
      networkProgramming: this.latencyHist,
      syncDuration: this.syncDuration,
      fullSyncDuration: this.fullSyncDuration,
      partialSyncDuration: this.partialSyncDuration,
      busy: this.counters.busy,
      lastSync: this.lastSync,
    };
  }

  /** What a sync writes: the mode's exact counts if it can tell, else the estimate (see the file comment). */
  syncWrites(ctx: SyncWriteContext): SyncWrites {
    if (this.options.writes) return this.options.writes(ctx);
    if (this.options.exactWrites !== false) {
      const exact = exactSyncWrites(ctx);
      if (exact !== undefined) return exact;
    }
    return estimateSyncWrites(ctx, this.options.serviceFootprint);
  }

  // --- the runner ---------------------------------------------------------------------------

  private availableTokens(t: Nanos): number {
    if (this.minSyncPeriod === 0) return Infinity;
    return Math.min(this.burstSyncs, this.tokens + (t - this.tokensAt) / this.minSyncPeriod);
  }

  private nextAllowed(t: Nanos): Nanos {
    const avail = this.availableTokens(t);
    if (avail >= 1 - TOKEN_EPSILON) return t;
    return t + Math.ceil((1 - avail) * this.minSyncPeriod);
  }

  private requestSync(): void {
    this.wanted = true;
    if (this.inFlight !== null || this.startEvent !== null) return; // picked up when the sync ends / starts
    this.startEvent = this.sim.scheduleAt(this.nextAllowed(this.sim.now), this.hStart);
  }

  private onStart(): void {
    this.startEvent = null;
    const now = this.sim.now;
    if (this.inFlight !== null || !this.wanted) return;
    const at = this.nextAllowed(now);
    if (at > now) {
      this.startEvent = this.sim.scheduleAt(at, this.hStart);
      return;
    }
    this.wanted = false;
    const avail = this.availableTokens(now);
    this.tokens = Math.max(0, avail - 1);
    this.tokensAt = now;

    const full = !this.partialSyncs || now - this.lastFullSyncStart >= this.fullSyncPeriod || this.fullDueNow(now);
    const changed = this.pendingServices;
    const previous = this.programmed;
    const plane = this.options.compile({ previous, changedServices: changed, full });
    const ctx: SyncWriteContext = {
      mode: this.mode,
      full,
      plane,
      previous,
      size: plane.size(),
      changedServices: changed,
      serviceCount: Math.max(0, this.options.serviceCount()),
    };
    const writes = this.syncWrites(ctx);
    const mean = syncCost(this.options.profile, this.mode, writes);
    const jitter = this.options.rng ? sampleJitter(this.options.profile.sync.jitter.cv, this.options.rng) : 1;
    const duration = Math.max(1, Math.round(mean * jitter));

    this.inFlight = { start: now, full, plane, writes, changedAt: this.pendingChangedAt, services: changed.size };
    this.pendingChangedAt = [];
    this.pendingServices = new Set();
    this.lastSyncStart = now;
    if (full) {
      this.lastFullSyncStart = now;
      this.firstFullDue = null;
    }
    this.armPeriodic();
    this.sim.schedule(duration, this.hDone);
  }

  private onDone(): void {
    const f = this.inFlight;
    if (f === null) return;
    const now = this.sim.now;
    this.inFlight = null;
    carryKernelState(this.programmed, f.plane);
    this.programmed = f.plane;
    for (const t of f.changedAt) this.latencyHist.record((now - t) / NS_PER_S);
    const seconds = (now - f.start) / NS_PER_S;
    this.syncDuration.record(seconds);
    (f.full ? this.fullSyncDuration : this.partialSyncDuration).record(seconds);
    this.counters.syncs++;
    if (f.full) this.counters.fullSyncs++;
    else this.counters.partialSyncs++;
    this.counters.changesProgrammed += f.changedAt.length;
    this.counters.maxBatch = Math.max(this.counters.maxBatch, f.changedAt.length);
    this.counters.busy += now - f.start;
    const record: SyncRecord = {
      start: f.start,
      end: now,
      full: f.full,
      writes: f.writes,
      changes: f.changedAt.length,
      services: f.services,
    };
    this.lastSync = record;
    this.options.onProgrammed?.(f.plane, record);
    if (this.wanted && this.startEvent === null) this.startEvent = this.sim.scheduleAt(this.nextAllowed(now), this.hStart);
  }

  private fullDueNow(now: Nanos): boolean {
    return this.firstFullDue !== null && now >= this.firstFullDue;
  }

  /** (Re)arms the timer for the next periodic sync: syncPeriod after the last start, or a full one due sooner. */
  private armPeriodic(): void {
    if (this.periodicEvent !== null) this.sim.cancel(this.periodicEvent);
    let due = this.lastSyncStart + this.syncPeriod;
    const fullDue = this.firstFullDue ?? this.lastFullSyncStart + this.fullSyncPeriod;
    if (fullDue < due) due = fullDue;
    this.periodicEvent = this.sim.scheduleAt(Math.max(due, this.sim.now), this.hPeriodic);
  }

  private onPeriodic(): void {
    this.periodicEvent = null;
    this.requestSync();
  }
}

/**
 * The default estimate of what a sync writes, from the plane's size and the changed Services.
 * A partial write charges each changed Service its exact footprint when `footprint` knows it,
 * else the plane's average per-Service share.
 */
export function estimateSyncWrites(
  ctx: SyncWriteContext,
  footprint?: (plane: CompiledDataPlane, service: string) => ServiceFootprint | undefined,
): SyncWrites {
  const { size, serviceCount } = ctx;
  const services = Math.max(1, serviceCount);
  // Rules that are not any one Service's: for iptables, KUBE-SERVICES has one rule per Service
  // port and is always rewritten; the rest is shared out per Service.
  const alwaysRules = ctx.mode === "iptables" ? Math.min(size.rules, serviceCount) : 0;
  let rules = 0;
  let chains = 0;
  let elements = 0;
  const avg: ServiceFootprint = {
    rules: Math.max(0, size.rules - alwaysRules) / services,
    chains: size.chains / services,
    elements: size.mapElements / services,
  };
  const changed = Math.min(ctx.changedServices.size, services);
  if (footprint) {
    for (const s of ctx.changedServices) {
      const f = footprint(ctx.plane, s) ?? avg; // a deleted Service: its share of the old plane
      rules += f.rules;
      chains += f.chains;
      elements += f.elements;
    }
  } else {
    rules = avg.rules * changed;
    chains = avg.chains * changed;
    elements = avg.elements * changed;
  }

  switch (ctx.mode) {
    case "iptables":
      if (ctx.full) {
        return { full: true, rulesWritten: size.rules, chainsWritten: size.chains, elementsWritten: 0, tableRules: size.rules };
      }
      return {
        full: false,
        rulesWritten: alwaysRules + rules,
        chainsWritten: chains,
        elementsWritten: 0,
        tableRules: size.rules,
      };
    case "nftables":
      if (ctx.full) {
        return {
          full: true,
          rulesWritten: size.rules,
          chainsWritten: size.chains,
          elementsWritten: size.mapElements,
          tableRules: size.rules,
        };
      }
      return { full: false, rulesWritten: rules, chainsWritten: chains, elementsWritten: elements, tableRules: size.rules };
    case "ipvs":
      // kube-proxy's IPVS mode diffs against the kernel on every sync, full or not: it lists
      // every virtual and real server (tableRules) and issues operations for what changed.
      return { full: ctx.full, rulesWritten: rules, chainsWritten: 0, elementsWritten: elements, tableRules: size.rules };
  }
}

/** The first compile, with no plane before it: an empty "previous" that nothing can reuse. */
function compileInitial(compile: (ctx: CompileContext) => CompiledDataPlane): CompiledDataPlane {
  const empty: CompiledDataPlane = {
    mode: "iptables",
    nodeName: "",
    render: () => "",
    evaluate: () => ({ action: "none", masquerade: false, work: { rulesTraversed: 0, matchesTried: 0, mapLookups: 0, chainJumps: 0 } }),
    size: () => ({ rules: 0, chains: 0, mapElements: 0 }),
  };
  return compile({ previous: empty, changedServices: new Set(), full: true });
}

/**
 * The kernel's dynamic state outlives a sync: the xt_recent table of ClientIP affinity
 * (iptables), the affinity sets' entries (nftables), connection counts, rr positions and
 * persistence templates (IPVS). The new plane takes it over from the old.
 */
export function carryKernelState(previous: CompiledDataPlane, next: CompiledDataPlane): void {
  if (previous !== next && previous.mode === next.mode) next.inheritStateFrom?.(previous);
}

interface ServiceTotals {
  /** Rules and chains in the per-Service nat chains, all Services together. */
  rules: number;
  chains: number;
  byService: Map<string, { rules: number; chains: number }>;
}

const iptablesTotals = new WeakMap<IptablesDataPlane, ServiceTotals>();

function serviceTotals(plane: IptablesDataPlane): ServiceTotals {
  let t = iptablesTotals.get(plane);
  if (t !== undefined) return t;
  const detector = plane.model.clusterCIDR !== null;
  t = { rules: 0, chains: 0, byService: new Map() };
  for (const sp of plane.model.servicePorts) {
    const c = countServiceChains(sp, detector);
    t.rules += c.rules;
    t.chains += c.chains;
    const acc = t.byService.get(sp.serviceKey);
    if (acc) {
      acc.rules += c.rules;
      acc.chains += c.chains;
    } else t.byService.set(sp.serviceKey, { rules: c.rules, chains: c.chains });
  }
  iptablesTotals.set(plane, t);
  return t;
}

/**
 * What a sync writes, counted by the mode itself; undefined for a plane it cannot read (the
 * caller then estimates).
 * - iptables partial (KEP-3453): everything but the per-Service chains of unchanged Services,
 *   plus a `-X` per chain of a Service that went away;
 * - nftables partial: the transaction from the previous plane (NftablesDataPlane.syncWritesFrom);
 * - IPVS, full or not: the ipvsadm and ipset operations of the diff against the previous plane
 *   (IpvsDataPlane.syncWritesFrom), plus the listing of the whole table;
 * - iptables and nftables full: the whole plane (from its size: rendering a 30k-Service
 *   transaction only to count it would cost more than the rest of the sync loop).
 */
export function exactSyncWrites(ctx: SyncWriteContext): SyncWrites | undefined {
  const { plane, previous } = ctx;
  if (plane instanceof IptablesDataPlane) {
    const size = plane.size();
    if (ctx.full) {
      return { full: true, rulesWritten: size.rules, chainsWritten: size.chains, elementsWritten: 0, tableRules: size.rules };
    }
    const totals = serviceTotals(plane);
    let changedRules = 0;
    let changedChains = 0;
    let deletedChains = 0;
    const before = previous instanceof IptablesDataPlane ? serviceTotals(previous) : undefined;
    for (const svc of ctx.changedServices) {
      const now = totals.byService.get(svc);
      if (now) {
        changedRules += now.rules;
        changedChains += now.chains;
      }
      const was = before?.byService.get(svc);
      if (was && was.chains > (now?.chains ?? 0)) deletedChains += was.chains - (now?.chains ?? 0);
    }
    return {
      full: false,
      rulesWritten: size.rules - (totals.rules - changedRules),
      chainsWritten: size.chains - (totals.chains - changedChains) + deletedChains,
      elementsWritten: 0,
      tableRules: size.rules,
    };
  }
  if (plane instanceof NftablesDataPlane) {
    const size = plane.size();
    if (ctx.full || !(previous instanceof NftablesDataPlane)) {
      return {
        full: true,
        rulesWritten: size.rules,
        chainsWritten: size.chains,
        elementsWritten: size.mapElements,
        tableRules: size.rules,
      };
    }
    return plane.syncWritesFrom(previous, "partial");
  }
  if (plane instanceof IpvsDataPlane) {
    const w = plane.syncWritesFrom(previous instanceof IpvsDataPlane ? previous : null);
    return { ...w, full: ctx.full };
  }
  return undefined;
}
