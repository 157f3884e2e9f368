/**
 * kube-proxy's nftables mode for one node: the compiled `kube-proxy` table, its `nft -f` text
 * (a full sync, or the incremental transaction of a partial sync), and the evaluation of a first
 * packet against it.
 *
 * Evaluation walks the very chains that are rendered, rule by rule, through the hooks a new
 * connection's first packet crosses, and counts the work:
 *   - rulesTraversed: rules whose evaluation started;
 *   - matchesTried: match expressions evaluated (nft stops a rule at its first failing one);
 *     `ct state new`, address, `fib`, `meta l4proto` and set-membership tests each count one;
 *   - mapLookups: hash lookups — verdict maps (`vmap @service-ips`), named and anonymous sets
 *     (`@cluster-ips`, `{ 10.96.0.0/12 }`), the `numgen … vmap { … }` table, affinity sets
 *     (also on `update`). A set-membership test counts as a match AND a lookup;
 *   - chainJumps: every jump or goto, including those taken from a verdict map.
 * Nothing in the walk depends on the number of Services: one `service-ips` lookup finds the
 * Service, whatever their number.
 *
 * The path of a first packet: from a pod or from outside, PREROUTING (filter-prerouting-pre-dnat,
 * nat-prerouting), then INPUT (filter-input) when the (translated) destination is this node, else
 * FORWARD (filter-forward) and POSTROUTING (nat-postrouting). From a process of the node (source
 * = the node IP), OUTPUT (filter-output-pre-dnat, nat-output, filter-output) and POSTROUTING, then
 * INPUT if the destination is the node. The loopback re-entry of local traffic is not modelled.
 *
 * `numgen random mod N` draws ONE number per evaluation of that rule: the kernel computes
 * reciprocal_scale(prandom_u32(), N) = floor(u32 * N / 2^32); we use Math.floor(rng.next() * N),
 * the same mapping for a uniform draw in [0, 1). Affinity sets remember a client until `timeout`
 * seconds after its last connection; the clock is the simulator's (setTime), 0 until set.
 */
import type { ClusterState } from "../../cluster/types.js";
import type { SyncWrites } from "../cost.js";
import type { ServiceFootprint } from "../sync.js";
import type { CompiledDataPlane, DataPlaneSize, Packet, ProxyMode, UniformSource, Verdict, Work, PreviousPlane } from "../types.js";
import { programmed, servicePortsOf, sliceKey, slicesByService } from "../servicePorts.js";
import {
  buildServiceSection,
  buildSetup,
  optionsKey,
  resolveOptions,
  serviceSignature,
} from "./compile.js";
import type { NftablesOptions, PortSection, ResolvedNftOptions, ServiceSection, Setup } from "./compile.js";
import * as N from "./names.js";
import {
  addChainLine,
  addContainerLine,
  addElementLine,
  addRuleLine,
  addTableLine,
  addrProtoPortKey,
  deleteChainLine,
  deleteContainerLine,
  deleteElementLine,
  flushChainLine,
  flushContainerLine,
  protoPortKey,
  verdictText,
} from "./ruleset.js";
import type { L4, NftChain, NftContainer, NftElement, NftRule, NftVerdict } from "./ruleset.js";

/** Containers whose elements kube-proxy tracks, in the order it cleans up leftovers. */
const ELEMENT_CONTAINERS = [
  N.CLUSTER_IPS,
  N.SERVICE_IPS,
  N.FIREWALL_IPS,
  N.NO_ENDPOINT_SERVICES,
  N.NO_ENDPOINT_NODEPORTS,
  N.SERVICE_NODEPORTS,
] as const;

const MAP_CONTAINERS = new Set<string>([N.SERVICE_IPS, N.FIREWALL_IPS, N.NO_ENDPOINT_SERVICES, N.NO_ENDPOINT_NODEPORTS, N.SERVICE_NODEPORTS]);

/** What one nft transaction does: the `nft -f` text, and its size for the sync cost. */
export interface NftTransaction {
  readonly text: string;
  /** Commands in the transaction (knftables' NumOperations): one per line. */
  readonly operations: number;
  readonly chainsAdded: number;
  readonly chainsFlushed: number;
  readonly chainsDeleted: number;
  readonly rulesAdded: number;
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
  readonly setsAdded: number;
  readonly setsDeleted: number;
}

/**
 * Builds a transaction. With `keepText` false it only counts (the sync loop charges a sync by
 * its counts and never reads the text, so it does not pay for formatting every line).
 */
class TransactionWriter {
  private readonly lines: string[] | null;
  operations = 0;
  chainsAdded = 0;
  chainsFlushed = 0;
  chainsDeleted = 0;
  rulesAdded = 0;
  elementsAdded = 0;
  elementsDeleted = 0;
  setsAdded = 0;
  setsDeleted = 0;

  constructor(keepText = true) {
    this.lines = keepText ? [] : null;
  }

  /** kube-proxy's ensureChain: add, then flush, so that the chain holds only this sync's rules. */
  ensureChain(chain: NftChain): void {
    this.lines?.push(addChainLine(chain), flushChainLine(chain.name));
    this.operations += 2;
    this.chainsAdded++;
    this.chainsFlushed++;
  }
  flushChain(name: string): void {
    this.lines?.push(flushChainLine(name));
    this.operations++;
    this.chainsFlushed++;
  }
  deleteChain(name: string): void {
    this.lines?.push(deleteChainLine(name));
    this.operations++;
    this.chainsDeleted++;
  }
  rule(chain: string, rule: NftRule): void {
    this.lines?.push(addRuleLine(chain, rule));
    this.operations++;
    this.rulesAdded++;
  }
  rules(chain: NftChain, from = 0): void {
    for (let i = from; i < chain.rules.length; i++) this.rule(chain.name, chain.rules[i]);
  }
  container(c: NftContainer): void {
    this.lines?.push(addContainerLine(c));
    this.operations++;
    this.setsAdded++;
  }
  deleteContainer(kind: "set" | "map", name: string): void {
    this.lines?.push(deleteContainerLine(kind, name));
    this.operations++;
    this.setsDeleted++;
  }
  addElement(el: NftElement): void {
    this.lines?.push(addElementLine(el));
    this.operations++;
    this.elementsAdded++;
  }
  deleteElement(container: string, key: string): void {
    this.lines?.push(deleteElementLine(container, key));
    this.operations++;
    this.elementsDeleted++;
  }
  other(line: string): void {
    this.lines?.push(line);
    this.operations++;
  }
  done(): NftTransaction {
    const lines = this.lines ?? [];
    return {
      text: lines.length === 0 ? "" : `${lines.join("\n")}\n`,
      operations: this.operations,
      chainsAdded: this.chainsAdded,
      chainsFlushed: this.chainsFlushed,
      chainsDeleted: this.chainsDeleted,
      rulesAdded: this.rulesAdded,
      elementsAdded: this.elementsAdded,
      elementsDeleted: this.elementsDeleted,
      setsAdded: this.setsAdded,
      setsDeleted: this.setsDeleted,
    };
  }
}

function valueText(el: NftElement): string {
  return el.value === undefined ? "" : verdictText(el.value);
}

/**
 * kube-proxy's nftElementStorage: ensureElem writes an element that is new, deletes and re-adds
 * one whose value changed, and leaves an equal one alone; what was not ensured is a leftover.
 */
class ElementStorage {
  /** key -> value text, per container, as the kernel holds them. */
  private readonly held = new Map<string, Map<string, string>>();
  private readonly touched = new Map<string, Set<string>>();

  constructor(initial?: ReadonlyMap<string, ReadonlyMap<string, NftElement>>) {
    for (const c of ELEMENT_CONTAINERS) {
      const m = new Map<string, string>();
      const prev = initial?.get(c);
      if (prev !== undefined) for (const [k, el] of prev) m.set(k, valueText(el));
      this.held.set(c, m);
      this.touched.set(c, new Set());
    }
  }

  ensure(tx: TransactionWriter, el: NftElement): void {
    const held = this.held.get(el.container) as Map<string, string>;
    const value = valueText(el);
    const existing = held.get(el.key);
    if (existing === undefined) {
      tx.addElement(el);
      held.set(el.key, value);
    } else if (existing !== value) {
      tx.deleteElement(el.container, el.key);
      tx.addElement(el);
      held.set(el.key, value);
    }
    (this.touched.get(el.container) as Set<string>).add(el.key);
  }

  cleanupLeftovers(tx: TransactionWriter): void {
    for (const c of ELEMENT_CONTAINERS) {
      const held = this.held.get(c) as Map<string, string>;
      const touched = this.touched.get(c) as Set<string>;
      for (const key of held.keys()) if (!touched.has(key)) tx.deleteElement(c, key);
    }
  }
}

/**
 * ElementStorage's decisions for the elements of the Services a partial sync rewrites, made
 * against the previous table's elements where they are (no copy of the whole table).
 */
class ElementDiff {
  /** container -> key -> value text, for the keys ensured in this sync. */
  private readonly ensured = new Map<string, Map<string, string>>();

  constructor(private readonly previous: ReadonlyMap<string, ReadonlyMap<string, NftElement>>) {}

  ensure(tx: TransactionWriter, el: NftElement): void {
    let mine = this.ensured.get(el.container);
    if (mine === undefined) this.ensured.set(el.container, (mine = new Map()));
    const value = valueText(el);
    let existing = mine.get(el.key);
    if (existing === undefined) {
      const held = this.previous.get(el.container)?.get(el.key);
      if (held !== undefined) existing = valueText(held);
    }
    if (existing === undefined) {
      tx.addElement(el);
    } else if (existing !== value) {
      tx.deleteElement(el.container, el.key);
      tx.addElement(el);
    }
    mine.set(el.key, value);
  }

  /** Deletes `el` unless this sync ensured its key (deleting each key once). */
  leftover(tx: TransactionWriter, el: NftElement): void {
    let mine = this.ensured.get(el.container);
    if (mine === undefined) this.ensured.set(el.container, (mine = new Map()));
    if (mine.has(el.key)) return;
    tx.deleteElement(el.container, el.key);
    mine.set(el.key, "");
  }
}

// The base chains a first packet crosses, in hook and priority order.
const OUTPUT_PATH = [N.FILTER_OUTPUT_PRE_DNAT, N.NAT_OUTPUT, N.FILTER_OUTPUT, N.NAT_POSTROUTING];
const PREROUTING_PATH = [N.FILTER_PREROUTING_PRE_DNAT, N.NAT_PREROUTING];
const FORWARD_PATH = [N.FILTER_FORWARD, N.NAT_POSTROUTING];

/** The work counters of one evaluation. */
function newWork(): Work {
  return { rulesTraversed: 0, matchesTried: 0, mapLookups: 0, chainJumps: 0 };
}

interface PacketState {
  src: number;
  dst: number;
  dport: number;
  readonly proto: L4;
  mark: boolean;
  masquerade: boolean;
  dnat: boolean;
  readonly work: Work;
}

type ChainResult = "accept" | "drop" | "reject";

function l4Of(p: Packet["protocol"]): L4 {
  return p === "TCP" ? "tcp" : p === "UDP" ? "udp" : "sctp";
}

export class NftablesDataPlane implements CompiledDataPlane {
  readonly mode = "nftables" as const;
  readonly nodeName: string;
  readonly options: ResolvedNftOptions;
  readonly optionsKey: string;
  readonly setup: Setup;
  readonly sections: readonly ServiceSection[];
  /** Every chain of the table, by name. */
  readonly chains: ReadonlyMap<string, NftChain>;
  /** The elements the table holds after a sync, per container, by key text. */
  readonly elements: ReadonlyMap<string, ReadonlyMap<string, NftElement>>;
  /** The per-endpoint affinity sets, by name. */
  readonly affinitySets: ReadonlyMap<string, NftContainer>;
  /**
   * Service chains that a sync flushed but did not delete yet: kube-proxy deletes them in a
   * separate transaction once they have been stale for a second (staleChainDeletion()).
   */
  readonly staleChains: Set<string> = new Set();

  private readonly verdictMaps = new Map<string, Map<number, NftVerdict>>();
  private readonly clusterIPs = new Set<number>();
  private readonly nodePortIPs: Set<number>;
  /** Affinity set contents: set name -> client IP -> expiry (ns). */
  private readonly affinity = new Map<string, Map<number, number>>();
  private nowNs = 0;
  /**
   * No two Services' elements share a container and key, and a key repeated within one Service
   * has one value (true of every valid cluster): what partialCounts relies on.
   */
  private readonly uniqueKeys: boolean;
  private sizeCache: DataPlaneSize | undefined;
  private sectionIndex: Map<string, ServiceSection> | undefined;
  private readonly stackChains: NftChain[] = [];
  private readonly stackIndexes: number[] = [];

  constructor(options: ResolvedNftOptions, setup: Setup, sections: readonly ServiceSection[]) {
    this.nodeName = options.nodeName;
    this.options = options;
    this.optionsKey = optionsKey(options);
    this.setup = setup;
    this.sections = sections;
    this.nodePortIPs = new Set(setup.nodePortIPs);
    const chains = new Map<string, NftChain>(setup.chains);
    const elements = new Map<string, Map<string, NftElement>>();
    for (const c of ELEMENT_CONTAINERS) elements.set(c, new Map());
    for (const m of MAP_CONTAINERS) this.verdictMaps.set(m, new Map());
    const affinitySets = new Map<string, NftContainer>();
    let uniqueKeys = true;
    for (const section of sections) {
      for (const port of section.ports) {
        for (const ch of port.endpointChains) chains.set(ch.name, ch);
        for (const ch of [port.clusterChain, port.localChain, port.externalChain, port.firewallChain]) {
          if (ch !== undefined) chains.set(ch.name, ch);
        }
        for (const s of port.affinitySets) affinitySets.set(s.name, s);
        for (const list of [port.elementsA, port.elementsB]) {
          for (const el of list) {
            const held = elements.get(el.container) as Map<string, NftElement>;
            const prior = held.get(el.key);
            // A key repeated within one Service with the same value (cluster-ips holds the IP once
            // per port) is harmless; shared between Services, it is not (see partialCounts).
            if (prior !== undefined && (valueText(prior) !== valueText(el) || !section.ports.some((p) => p.elementsA.includes(prior) || p.elementsB.includes(prior)))) uniqueKeys = false;
            // Same key, same value: the first element (and its comment) stays, as in the kernel.
            if (prior !== undefined && valueText(prior) === valueText(el)) continue;
            held.set(el.key, el);
            if (el.container === N.CLUSTER_IPS) this.clusterIPs.add(el.lookup);
            else (this.verdictMaps.get(el.container) as Map<number, NftVerdict>).set(el.lookup, el.value as NftVerdict);
          }
        }
      }
    }
    this.chains = chains;
    this.elements = elements;
    this.affinitySets = affinitySets;
    this.uniqueKeys = uniqueKeys;
  }

  /** The simulator's clock, in nanoseconds: affinity entries expire against it. */
  setTime(nowNs: number): void {
    this.nowNs = nowNs;
  }

  /** Carries the kernel's dynamic state (affinity entries) over from the plane this one replaces. */
  inheritStateFrom(previous: CompiledDataPlane): void {
    if (!(previous instanceof NftablesDataPlane)) return;
    this.nowNs = previous.nowNs;
    for (const [name, entries] of previous.affinity) {
      if (this.affinitySets.has(name)) this.affinity.set(name, new Map(entries));
    }
  }

  resetState(): void {
    this.affinity.clear();
    this.nowNs = 0;
  }

  size(): DataPlaneSize {
    if (this.sizeCache === undefined) {
      let rules = 0;
      for (const ch of this.chains.values()) rules += ch.rules.length;
      let mapElements = this.nodePortIPs.size;
      for (const m of this.elements.values()) mapElements += m.size;
      this.sizeCache = { rules, chains: this.chains.size, mapElements };
    }
    return { ...this.sizeCache };
  }

  private sectionByKey(key: string): ServiceSection | undefined {
    if (this.sectionIndex === undefined) this.sectionIndex = new Map(this.sections.map((s) => [s.key, s]));
    return this.sectionIndex.get(key);
  }

  /** The full-sync transaction from scratch, as `nft -f` input. */
  render(): string {
    return this.fullTransaction().text;
  }

  /** The full-sync transaction from scratch, with its size. */
  fullTransaction(keepText = true): NftTransaction {
    const tx = new TransactionWriter(keepText);
    this.writeSetup(tx);
    const storage = new ElementStorage();
    for (const section of this.sections) this.writeSection(tx, storage, section, true);
    return tx.done();
  }

  /**
   * The transaction kube-proxy runs to move the kernel from `previous` (what it programmed last)
   * to this state. "partial" (its usual sync): only Services whose objects changed get their
   * chains rewritten; map elements are added, replaced or deleted one by one; chains no longer
   * used are flushed (and remembered for staleChainDeletion). "full": the periodic full sync,
   * which rewrites everything but still knows the chains left in the kernel.
   */
  transactionFrom(previous: NftablesDataPlane, kind: "partial" | "full" = "partial", keepText = true): NftTransaction {
    const full = kind === "full" || previous.optionsKey !== this.optionsKey;
    const tx = new TransactionWriter(keepText);
    if (full) this.writeSetup(tx);
    const storage = new ElementStorage(full ? undefined : previous.elements);
    const previousSignatures = new Map<string, string>();
    for (const s of previous.sections) previousSignatures.set(s.key, s.signature);
    for (const section of this.sections) {
      const changed = full || previousSignatures.get(section.key) !== section.signature;
      this.writeSection(tx, storage, section, changed);
    }
    // Chains of ours that the kernel holds but this sync does not use: flush now, delete later.
    this.staleChains.clear();
    const inKernel = new Set<string>([...previous.chains.keys(), ...previous.staleChains]);
    for (const name of inKernel) {
      if (N.isServiceChainName(name) && !this.chains.has(name)) {
        tx.flushChain(name);
        this.staleChains.add(name);
      }
    }
    for (const name of previous.affinitySets.keys()) {
      if (!this.affinitySets.has(name)) {
        tx.deleteContainer("set", name);
      }
    }
    if (!full) storage.cleanupLeftovers(tx);
    return tx.done();
  }

  /**
   * What the sync loop charges for programming this plane over `previous` (null: a node that
   * starts empty). Computes the transaction, so it also records the chains it leaves stale.
   */
  syncWritesFrom(previous: NftablesDataPlane | null, kind: "partial" | "full" = "partial"): SyncWrites {
    const tx =
      previous === null
        ? this.fullTransaction(false)
        : kind === "partial" && previous.optionsKey === this.optionsKey && previous.uniqueKeys && this.uniqueKeys
          ? this.partialCounts(previous)
          : this.transactionFrom(previous, kind, false);
    return {
      full: previous === null || kind === "full",
      rulesWritten: tx.rulesAdded,
      // Every chain written is added and flushed; stale chains are only flushed.
      chainsWritten: tx.chainsFlushed + tx.chainsDeleted,
      elementsWritten: tx.elementsAdded + tx.elementsDeleted + tx.setsAdded + tx.setsDeleted,
      tableRules: this.size().rules,
    };
  }

  /**
   * The counts of transactionFrom(previous, "partial") (without its text), in time proportional
   * to the Services that changed rather than to the table. A Service whose section is the same
   * as before (equal signature) writes nothing: its chains are not rewritten and, keys being
   * unique, each of its elements is already held with the same value. So only changed, new and
   * removed Services are visited: the first write their chains and ensure their elements, the
   * last two leave elements to delete and chains to flush. Leaves staleChains as transactionFrom
   * would (same chains, same order). Exactness is checked against transactionFrom on random
   * changes (incremental.test.ts).
   */
  private partialCounts(previous: NftablesDataPlane): NftTransaction {
    const tx = new TransactionWriter(false);
    // The same plane (a sync that found nothing to change): nothing to write or flush.
    if (previous === this) {
      this.staleChains.clear();
      return tx.done();
    }
    const diff = new ElementDiff(previous.elements);
    for (const section of this.sections) {
      if (previous.sectionByKey(section.key)?.signature !== section.signature) this.writeSection(tx, diff, section, true);
    }
    this.staleChains.clear();
    const gone: PortSection[] = [];
    for (const old of previous.sections) {
      if (this.sectionByKey(old.key)?.signature !== old.signature) gone.push(...old.ports);
    }
    for (const port of gone) {
      for (const ch of [...port.endpointChains, port.clusterChain, port.localChain, port.externalChain, port.firewallChain]) {
        if (ch !== undefined && N.isServiceChainName(ch.name) && !this.chains.has(ch.name) && !this.staleChains.has(ch.name)) {
          tx.flushChain(ch.name);
          this.staleChains.add(ch.name);
        }
      }
    }
    for (const name of previous.staleChains) {
      if (!this.chains.has(name) && !this.staleChains.has(name)) {
        tx.flushChain(name);
        this.staleChains.add(name);
      }
    }
    for (const port of gone) {
      for (const set of port.affinitySets) if (!this.affinitySets.has(set.name)) tx.deleteContainer("set", set.name);
    }
    for (const port of gone) {
      for (const el of port.elementsA) diff.leftover(tx, el);
      for (const el of port.elementsB) diff.leftover(tx, el);
    }
    return tx.done();
  }

  /** The chains, rules and elements one Service ("namespace/name") owns in this table. */
  serviceFootprint(service: string): ServiceFootprint | undefined {
    const section = this.sections.find((s) => s.key === service);
    if (section === undefined) return undefined;
    let rules = 0;
    let chains = 0;
    let elements = 0;
    for (const port of section.ports) {
      for (const ch of [...port.endpointChains, port.clusterChain, port.localChain, port.externalChain, port.firewallChain]) {
        if (ch === undefined) continue;
        chains++;
        rules += ch.rules.length;
      }
      elements += port.elementsA.length + port.elementsB.length + port.affinitySets.length;
    }
    return { rules, chains, elements };
  }

  /** kube-proxy's separate transaction deleting the chains flushed by earlier syncs; clears them. */
  staleChainDeletion(): NftTransaction {
    const tx = new TransactionWriter();
    for (const name of this.staleChains) tx.deleteChain(name);
    this.staleChains.clear();
    return tx.done();
  }

  private writeSetup(tx: TransactionWriter): void {
    tx.other(addTableLine());
    for (const op of this.setup.ops) {
      switch (op.op) {
        case "chain":
          tx.ensureChain(op.chain);
          break;
        case "rule":
          tx.rule(op.chain, op.rule);
          break;
        case "container":
          tx.container(op.container);
          break;
        case "flushContainer":
          tx.other(flushContainerLine(op.kind, op.name));
          break;
        case "deleteContainer":
          tx.deleteContainer(op.kind, op.name);
          break;
        case "element":
          tx.addElement(op.element);
          break;
      }
    }
  }

  /** One Service, in kube-proxy's order; `changed` false skips its chains (a partial sync). */
  private writeSection(tx: TransactionWriter, storage: ElementStorage | ElementDiff, section: ServiceSection, changed: boolean): void {
    for (const port of section.ports) {
      if (changed) {
        for (const ch of port.endpointChains) tx.ensureChain(ch);
        if (port.clusterChain !== undefined) tx.ensureChain(port.clusterChain);
        if (port.localChain !== undefined) tx.ensureChain(port.localChain);
        if (port.externalChain !== undefined) tx.ensureChain(port.externalChain);
      }
      for (const el of port.elementsA) storage.ensure(tx, el);
      if (changed && port.firewallChain !== undefined) tx.ensureChain(port.firewallChain);
      for (const el of port.elementsB) storage.ensure(tx, el);
      if (changed) writePortRules(tx, port);
    }
  }

  // ---- evaluation ----------------------------------------------------------------------------

  evaluate(packet: Packet, rng: UniformSource): Verdict {
    const st: PacketState = {
      src: packet.srcIP,
      dst: packet.dstIP,
      dport: packet.dstPort,
      proto: l4Of(packet.protocol),
      mark: false,
      masquerade: false,
      dnat: false,
      work: newWork(),
    };
    const fromHost = packet.ingress === "local" && packet.srcIP === this.options.nodeIP;
    const hooks = fromHost ? OUTPUT_PATH : PREROUTING_PATH;
    for (let h = 0; h < hooks.length; h++) {
      const r = this.runBaseChain(hooks[h], st, rng);
      if (r !== "accept") return this.verdict(r, st);
    }
    if (this.isLocal(st.dst)) {
      const r = this.runBaseChain(N.FILTER_INPUT, st, rng);
      if (r !== "accept") return this.verdict(r, st);
    } else if (!fromHost) {
      for (let h = 0; h < FORWARD_PATH.length; h++) {
        const r = this.runBaseChain(FORWARD_PATH[h], st, rng);
        if (r !== "accept") return this.verdict(r, st);
      }
    }
    return this.verdict("accept", st);
  }

  private verdict(r: ChainResult, st: PacketState): Verdict {
    if (r === "drop" || r === "reject") return { action: r, masquerade: false, work: st.work };
    if (st.dnat) return { action: "dnat", endpointIP: st.dst, endpointPort: st.dport, masquerade: st.masquerade, work: st.work };
    return { action: "none", masquerade: st.masquerade, work: st.work };
  }

  private isLocal(ip: number): boolean {
    return ip === this.options.nodeIP || (ip >= 0x7f000000 && ip < 0x80000000);
  }

  private runBaseChain(name: string, st: PacketState, rng: UniformSource): ChainResult {
    const w = st.work;
    // The return stack (chains and positions), reused across calls: evaluation is not reentrant.
    const chains = this.stackChains;
    const indexes = this.stackIndexes;
    let depth = 0;
    let chain = this.chains.get(name) as NftChain;
    let index = 0;
    for (;;) {
      if (index >= chain.rules.length) {
        if (depth === 0) return "accept"; // the base chain's policy
        depth--;
        chain = chains[depth];
        index = indexes[depth];
        continue;
      }
      const rule = chain.rules[index++];
      w.rulesTraversed++;
      const out = this.runRule(rule, st, rng);
      if (out === null) continue;
      if (typeof out === "string") return out;
      switch (out.kind) {
        case "jump":
        case "goto":
          if (out.kind === "jump") {
            chains[depth] = chain;
            indexes[depth] = index;
            depth++;
          }
          w.chainJumps++;
          chain = this.chains.get(out.chain) as NftChain;
          index = 0;
          break;
        case "return":
          if (depth === 0) return "accept";
          depth--;
          chain = chains[depth];
          index = indexes[depth];
          break;
        case "drop":
        case "reject":
          return out.kind;
      }
    }
  }

  /** null: go on with the next rule; a verdict; or a terminal "accept" (NAT done). */
  private runRule(rule: NftRule, st: PacketState, rng: UniformSource): NftVerdict | "accept" | null {
    const w = st.work;
    const exprs = rule.exprs;
    for (let k = 0; k < exprs.length; k++) {
      const e = exprs[k];
      switch (e.t) {
        case "ctNew":
          w.matchesTried++;
          break;
        case "addr": {
          w.matchesTried++;
          const ip = e.field === "saddr" ? st.src : st.dst;
          if ((ip >= e.range.lo && ip < e.range.hi) === e.neg) return null;
          break;
        }
        case "anonSet": {
          w.matchesTried++;
          w.mapLookups++;
          const ip = e.field === "saddr" ? st.src : st.dst;
          let hit = false;
          for (let j = 0; j < e.members.length; j++) {
            const m = e.members[j];
            if (ip >= m.lo && ip < m.hi) {
              hit = true;
              break;
            }
          }
          if (hit === e.neg) return null;
          break;
        }
        case "namedSet": {
          w.matchesTried++;
          w.mapLookups++;
          const ip = e.field === "saddr" ? st.src : st.dst;
          if (!this.inSet(e.set, ip)) return null;
          break;
        }
        case "fibLocal":
          w.matchesTried++;
          if (!this.isLocal(e.field === "saddr" ? st.src : st.dst)) return null;
          break;
        case "l4proto":
          w.matchesTried++;
          if (st.proto !== e.proto) return null;
          break;
        case "markZero":
          w.matchesTried++;
          if (st.mark) return null;
          break;
        case "vmap": {
          w.mapLookups++;
          const key = e.key === "addrProtoPort" ? addrProtoPortKey(st.dst, st.proto, st.dport) : protoPortKey(st.proto, st.dport);
          const v = (this.verdictMaps.get(e.map) as Map<number, NftVerdict>).get(key);
          if (v === undefined) return null;
          return v;
        }
        case "numgen": {
          w.mapLookups++;
          return (e.gotos as readonly NftVerdict[])[Math.floor(rng.next() * e.chains.length)];
        }
        case "verdict":
          return e.v;
        case "markSet":
          st.mark = e.op === "or" ? true : !st.mark;
          break;
        case "masquerade":
          st.masquerade = true;
          return "accept";
        case "update": {
          w.mapLookups++;
          let set = this.affinity.get(e.set);
          if (set === undefined) {
            set = new Map();
            this.affinity.set(e.set, set);
          }
          const def = this.affinitySets.get(e.set) as NftContainer;
          set.set(st.src, this.nowNs + (def.timeoutSeconds ?? 0) * 1e9);
          break;
        }
        case "dnat":
          st.dst = e.ip;
          st.dport = e.port;
          st.dnat = true;
          return "accept";
      }
    }
    return null;
  }

  private inSet(name: string, ip: number): boolean {
    if (name === N.CLUSTER_IPS) return this.clusterIPs.has(ip);
    if (name === N.NODEPORT_IPS) return this.nodePortIPs.has(ip);
    const expiry = this.affinity.get(name)?.get(ip);
    return expiry !== undefined && expiry > this.nowNs;
  }
}

/** A port section's rules and affinity sets, in the order kube-proxy adds them. */
function writePortRules(tx: TransactionWriter, port: PortSection): void {
  const masqIn = port.internalMasqIn;
  if (masqIn !== undefined) tx.rule(masqIn.name, masqIn.rules[0]);
  if (port.externalChain !== undefined) tx.rules(port.externalChain);
  if (port.firewallChain !== undefined) tx.rules(port.firewallChain);
  for (const s of port.affinitySets) tx.container(s);
  if (port.clusterChain !== undefined) tx.rules(port.clusterChain, masqIn === port.clusterChain ? 1 : 0);
  if (port.localChain !== undefined) tx.rules(port.localChain, masqIn === port.localChain ? 1 : 0);
  for (const ch of port.endpointChains) tx.rules(ch);
}

/** kube-proxy's nftables mode. */
export class NftablesProxy implements ProxyMode {
  readonly name = "nftables" as const;
  private readonly defaults: Omit<NftablesOptions, "nodeName" | "clusterCIDR">;

  constructor(defaults: Omit<NftablesOptions, "nodeName" | "clusterCIDR"> = {}) {
    this.defaults = defaults;
  }

  compile(state: ClusterState, options: NftablesOptions, previous?: PreviousPlane): NftablesDataPlane {
    // Unchanged Services' sections are reused when their signature matches (compileNftables).
    const prev = previous?.plane instanceof NftablesDataPlane && previous.plane.nodeName === options.nodeName ? previous.plane : undefined;
    return compileNftables(state, { ...this.defaults, ...options }, prev);
  }
}

/**
 * Compiles a node's table. With `previous` (the plane of the same node before a change), the
 * sections of Services whose objects did not change are reused as they are, which makes a
 * recompile after a small change cost little more than listing the cluster's service ports.
 */
export function compileNftables(state: ClusterState, options: NftablesOptions, previous?: NftablesDataPlane): NftablesDataPlane {
  const o = resolveOptions(state, options);
  const setup = buildSetup(o);
  const reusable = new Map<string, ServiceSection>();
  if (previous !== undefined && previous.optionsKey === optionsKey(o)) {
    for (const s of previous.sections) reusable.set(s.key, s);
  }
  const slices = slicesByService(state);
  const sections: ServiceSection[] = [];
  for (const svc of state.services) {
    if (!programmed(svc) || svc.ports.length === 0) continue;
    const key = sliceKey(svc.namespace, svc.name);
    const svcSlices = slices.get(key) ?? [];
    const old = reusable.get(key);
    if (old?.source !== undefined && old.source.service === svc && sameObjects(old.source.slices, svcSlices)) {
      sections.push(old);
      continue;
    }
    const ports = servicePortsOf(svc, svcSlices, o.nodeName);
    const signature = serviceSignature(ports);
    const section = old !== undefined && old.signature === signature ? old : buildServiceSection(ports, o, signature);
    section.source = { service: svc, slices: svcSlices };
    sections.push(section);
  }
  return new NftablesDataPlane(o, setup, sections);
}

function sameObjects<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

