/**
 * kube-proxy's IPVS mode for one node: virtual servers, real servers and schedulers; the fixed
 * iptables/ipset part; `ipvsadm -S -n` output; and the evaluation of a first packet.
 *
 * Evaluation: the packet crosses the iptables part (nat PREROUTING or OUTPUT → KUBE-SERVICES,
 * then filter INPUT → KUBE-IPVS-FILTER, KUBE-PROXY-FIREWALL, KUBE-NODE-PORT for a packet to a
 * local address — which ClusterIPs are, being bound to kube-ipvs0), then IPVS: one hash lookup
 * of (protocol, address, port) in the service table; for a persistent service one lookup of the
 * client's template; then the scheduler; then nat POSTROUTING (KUBE-POSTROUTING). Work counts:
 * each iptables rule looked at (rulesTraversed), each match tried (matchesTried; `-m comment`
 * is not a test and does not count; `-m set` counts as a match and a lookup), each ipset, IPVS
 * service-table, template or sh/dh bucket lookup (mapLookups), each jump (chainJumps). The
 * scheduler's examination of one real server (rr, lc, sed, nq walk the list) counts as one match.
 * A virtual server without real servers answers ICMP port unreachable: "reject".
 *
 * Schedulers, as in net/netfilter/ipvs (all real servers have weight 1):
 *   rr  — the next real server after the last one chosen, in list order;
 *   lc  — the least (active << 8) + inactive connections, first in list order on ties;
 *   sed — the least active + 1 (shortest expected delay), first on ties;
 *   nq  — the first idle server (no active connection), else as sed;
 *   dh  — bucket (dst * 2654435761) & 255 of a 256-bucket table filled round-robin;
 *   sh  — bucket hash_32(src, 8) = (src * 0x61C88647 mod 2^32) >> 24, same table.
 * The list order is the `ipvsadm -S` order (the kernel keeps reverse insertion order, and
 * kube-proxy inserts in Go set order: arbitrary). lc/sed/nq need connection counts: evaluate()
 * counts the connection it schedules as active (inactive for UDP, which IPVS never counts as
 * active), and the simulator calls connectionClosed(virtualServer, realServer) when it ends.
 * Persistence (ClientIP affinity, `-p timeout`): a template per client IP sends its connections
 * to the same real server while it lives; it lives until `timeout` seconds after the client's
 * last new connection (the kernel keeps it while connections are open, then lets it time out).
 * The clock is the simulator's (setTime), 0 until set.
 *
 * A process of the node that connects to an address bound on kube-ipvs0 (a ClusterIP, an
 * external or LB IP) gets that address as its source, as the kernel picks it for a local
 * destination; that is what KUBE-IPVS-OUT-FILTER (`-s LBIP -m ipvs --vaddr LBIP`) relies on.
 */
import type { ClusterState } from "../../cluster/types.js";
import type { SyncWrites } from "../cost.js";
import type { CompiledDataPlane, DataPlaneSize, Packet, ProxyMode, UniformSource, Verdict, Work } from "../types.js";
import { IPSETS, L4_NUMBER, compileIpvsState } from "./compile.js";
import type { IpsetEntry, IpsetName, IpvsCompiled, IpvsOptions, IpvsScheduler, L4, RealServer, ResolvedIpvsOptions, VirtualServer } from "./compile.js";
import { FILTER_CHAINS, NAT_CHAINS, buildIptables, renderIptables } from "./iptables.js";
import type { IptMatch, IptRule, IpvsIptables } from "./iptables.js";

/** A verdict that also names the virtual and real server, for connectionClosed(). */
export interface IpvsVerdict extends Verdict {
  /** "TCP 10.96.0.1:443" */
  virtualServer?: string;
  /** "10.244.1.5:8080" */
  realServer?: string;
}

/** An update of the kernel state from one plane to the next. */
export interface IpvsUpdate {
  /** ipvsadm commands (`ipvsadm -R` syntax): -A/-E/-D for virtual servers, -a/-d for real servers. */
  readonly ipvsadm: readonly string[];
  /** ipset commands: add/del entries. */
  readonly ipset: readonly string[];
  /** Rules of the fixed iptables part, which kube-proxy restores on every sync. */
  readonly iptablesRules: number;
}

function sameRealServers(a: readonly RealServer[], b: readonly RealServer[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].key !== b[i].key) return false;
  return true;
}

/** glibc's qsort for small element sizes: a top-down merge sort, merging left-first on ties. */
function mergeSort<T>(items: T[], cmp: (a: T, b: T) => number): T[] {
  if (items.length <= 1) return items;
  const n1 = items.length >> 1;
  const left = mergeSort(items.slice(0, n1), cmp);
  const right = mergeSort(items.slice(n1), cmp);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) out.push(cmp(left[i], right[j]) <= 0 ? left[i++] : right[j++]);
  while (i < left.length) out.push(left[i++]);
  while (j < right.length) out.push(right[j++]);
  return out;
}

/**
 * libipvs's ipvs_cmp_services: protocol, then address, then port. The address difference is
 * taken in unsigned 32-bit arithmetic and read as a signed int, as the C code does: addresses
 * more than 2^31 apart compare "backwards" (10.x sorts after 192.168.x).
 */
function compareServices(a: VirtualServer, b: VirtualServer): number {
  const r = L4_NUMBER[a.protocol] - L4_NUMBER[b.protocol];
  if (r !== 0) return r;
  const d = (a.ip - b.ip) | 0;
  if (d !== 0) return d;
  return a.port - b.port;
}

/** libipvs's ipvs_cmp_dests: address (same wrap-around) then port. */
function compareDests(a: RealServer, b: RealServer): number {
  const d = (a.ip - b.ip) | 0;
  if (d !== 0) return d;
  return a.port - b.port;
}

function protocolFlag(p: L4): string {
  return p === "tcp" ? "-t" : p === "udp" ? "-u" : "--sctp-service";
}

function vsAddress(v: VirtualServer): string {
  return `${protocolFlag(v.protocol)} ${v.ipText}:${v.port}`;
}

function addServiceLine(v: VirtualServer, verb: "-A" | "-E"): string {
  return `${verb} ${vsAddress(v)} -s ${v.scheduler}${v.persistenceTimeout === undefined ? "" : ` -p ${v.persistenceTimeout}`}`;
}

function addDestLine(v: VirtualServer, rs: RealServer): string {
  return `-a ${vsAddress(v)} -r ${rs.ipText}:${rs.port} -m -w ${rs.weight}`;
}

function vsLookupKey(proto: L4, ip: number, port: number): number {
  return ip * 262144 + (proto === "tcp" ? 0 : proto === "udp" ? 1 : 2) * 65536 + port;
}

/** Mutable per-virtual-server state: what the kernel's scheduler and connection table keep. */
interface VsState {
  /** Index of the last real server rr chose (-1: start from the head). */
  rrLast: number;
  active: number[];
  inactive: number[];
  /** Persistence templates: client IP -> [real server index, expiry ns]. */
  templates: Map<number, { rs: number; expiry: number }>;
}

interface PacketState {
  src: number;
  dst: number;
  dport: number;
  readonly proto: L4;
  readonly fromHost: boolean;
  /** Arrived through a bridge port (a pod on this node, with a bridge CNI). */
  readonly physdevIsIn: boolean;
  mark: boolean;
  masquerade: boolean;
  /** The virtual server handling the packet once IPVS saw it (for `-m ipvs`). */
  vs: VirtualServer | null;
  readonly work: Work;
}

type ChainResult = "accept" | "drop" | "reject";

/** An ipset as the evaluator queries it. */
interface IpsetIndex {
  readonly type: string;
  /** hash:ip,port → (ip, proto, port) keys; bitmap:port → ports; hash:ip → ips. */
  readonly keys: Set<number>;
  /** hash:ip,port,ip and hash:ip,port,net: (ip, proto, port) → source ranges. */
  readonly sources: Map<number, Array<[number, number]>>;
}

export class IpvsDataPlane implements CompiledDataPlane {
  readonly mode = "ipvs" as const;
  readonly nodeName: string;
  readonly options: ResolvedIpvsOptions;
  /** In `ipvsadm -S -n` order, real servers sorted too. */
  readonly virtualServers: readonly VirtualServer[];
  readonly ipsets: ReadonlyMap<IpsetName, ReadonlyMap<string, IpsetEntry>>;
  readonly iptables: IpvsIptables;

  private readonly byKey = new Map<string, VirtualServer>();
  private readonly lookup = new Map<number, VirtualServer>();
  private readonly state = new Map<string, VsState>();
  private readonly index = new Map<IpsetName, IpsetIndex>();
  /** Rules per chain, per table. */
  private readonly chains: Readonly<Record<"nat" | "filter", Map<string, IptRule[]>>> = { nat: new Map(), filter: new Map() };
  private readonly boundAddresses: Set<number>;
  private nowNs = 0;

  constructor(compiled: IpvsCompiled) {
    this.options = compiled.options;
    this.nodeName = compiled.options.nodeName;
    this.ipsets = compiled.ipsets;
    this.iptables = buildIptables(compiled);
    const sorted = mergeSort([...compiled.virtualServers], compareServices).map((v) => ({
      ...v,
      realServers: mergeSort([...v.realServers], compareDests),
    }));
    this.virtualServers = sorted;
    for (const v of sorted) {
      this.byKey.set(v.key, v);
      this.lookup.set(vsLookupKey(v.protocol, v.ip, v.port), v);
    }
    for (const [name, type] of IPSETS) {
      const idx: IpsetIndex = { type, keys: new Set(), sources: new Map() };
      for (const e of (compiled.ipsets.get(name) as ReadonlyMap<string, IpsetEntry>).values()) {
        if (type === "bitmap:port") idx.keys.add(e.port as number);
        else if (type === "hash:ip") idx.keys.add(e.ip as number);
        else {
          const k = vsLookupKey(e.proto as L4, e.ip as number, e.port as number);
          idx.keys.add(k);
          if (e.srcLo !== undefined) {
            const list = idx.sources.get(k) ?? [];
            list.push([e.srcLo, e.srcHi as number]);
            idx.sources.set(k, list);
          }
        }
      }
      this.index.set(name, idx);
    }
    this.boundAddresses = (this.index.get("KUBE-IPVS-IPS") as IpsetIndex).keys;
    for (const r of [...this.iptables.builtin, ...this.iptables.rules]) {
      const table = this.chains[r.table];
      const list = table.get(r.chain);
      if (list === undefined) table.set(r.chain, [r]);
      else list.push(r);
    }
  }

  /** The simulator's clock (ns): persistence templates expire against it. */
  setTime(nowNs: number): void {
    this.nowNs = nowNs;
  }

  size(): DataPlaneSize {
    let realServers = 0;
    for (const v of this.virtualServers) realServers += v.realServers.length;
    return { rules: this.virtualServers.length + realServers, chains: NAT_CHAINS.length + FILTER_CHAINS.length, mapElements: this.virtualServers.length };
  }

  /** `ipvsadm -S -n`: the virtual servers, each followed by its real servers. */
  render(): string {
    const lines: string[] = [];
    for (const v of this.virtualServers) {
      lines.push(addServiceLine(v, "-A"));
      for (const rs of v.realServers) lines.push(addDestLine(v, rs));
    }
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }

  /** The iptables-restore input of the fixed part (what kube-proxy restores with --noflush). */
  renderIptables(): string {
    return renderIptables(this.iptables);
  }

  /** The ipsets as `ipset restore` input: kube-proxy's create arguments, then its entries (sorted). */
  renderIpsets(): string {
    const lines: string[] = [];
    for (const [name, type] of IPSETS) {
      lines.push(type === "bitmap:port" ? `create ${name} ${type} range 0-65535` : `create ${name} ${type} family inet hashsize 1024 maxelem 65536`);
      const entries = [...(this.ipsets.get(name) as ReadonlyMap<string, IpsetEntry>).keys()].sort();
      for (const e of entries) lines.push(`add ${name} ${e}`);
    }
    return `${lines.join("\n")}\n`;
  }

  /** What a sync from `previous` writes: ipvsadm and ipset operations, and the restored rules. */
  updateFrom(previous: IpvsDataPlane): IpvsUpdate {
    // The same plane (a sync that found nothing to change): nothing to write, without the diff.
    if (previous === this) return { ipvsadm: [], ipset: [], iptablesRules: this.iptables.rules.length };
    const ipvsadm: string[] = [];
    for (const v of this.virtualServers) {
      const old = previous.byKey.get(v.key);
      if (old === undefined) {
        ipvsadm.push(addServiceLine(v, "-A"));
        for (const rs of v.realServers) ipvsadm.push(addDestLine(v, rs));
        continue;
      }
      if (old.scheduler !== v.scheduler || old.persistenceTimeout !== v.persistenceTimeout) ipvsadm.push(addServiceLine(v, "-E"));
      // The usual case, an unchanged Service: the same real servers in the same order.
      if (sameRealServers(old.realServers, v.realServers)) continue;
      const before = new Set(old.realServers.map((r) => r.key));
      const after = new Set(v.realServers.map((r) => r.key));
      for (const rs of v.realServers) if (!before.has(rs.key)) ipvsadm.push(addDestLine(v, rs));
      for (const rs of old.realServers) if (!after.has(rs.key)) ipvsadm.push(`-d ${vsAddress(v)} -r ${rs.ipText}:${rs.port}`);
    }
    for (const old of previous.virtualServers) if (!this.byKey.has(old.key)) ipvsadm.push(`-D ${vsAddress(old)}`);
    const ipset: string[] = [];
    for (const [name] of IPSETS) {
      const now = this.ipsets.get(name) as ReadonlyMap<string, IpsetEntry>;
      const then = previous.ipsets.get(name) as ReadonlyMap<string, IpsetEntry>;
      const removed: string[] = [];
      const added: string[] = [];
      for (const e of then.keys()) if (!now.has(e)) removed.push(e);
      for (const e of now.keys()) if (!then.has(e)) added.push(e);
      for (const e of removed.sort()) ipset.push(`del ${name} ${e}`);
      for (const e of added.sort()) ipset.push(`add ${name} ${e}`);
    }
    return { ipvsadm, ipset, iptablesRules: this.iptables.rules.length };
  }

  /** The sync loop's SyncWrites for a sync from `previous` (IPVS diffs the kernel every time). */
  syncWritesFrom(previous: IpvsDataPlane | null): SyncWrites {
    const size = this.size();
    if (previous === null) {
      let entries = 0;
      for (const m of this.ipsets.values()) entries += m.size;
      return { full: true, rulesWritten: size.rules, chainsWritten: 0, elementsWritten: entries, tableRules: size.rules };
    }
    const u = this.updateFrom(previous);
    return { full: false, rulesWritten: u.ipvsadm.length, chainsWritten: 0, elementsWritten: u.ipset.length, tableRules: size.rules };
  }

  /**
   * Carries the kernel's dynamic state over from the plane this one replaces: connection counts
   * of real servers still present, rr positions, persistence templates to surviving servers.
   */
  inheritStateFrom(previous: CompiledDataPlane): void {
    if (!(previous instanceof IpvsDataPlane)) return;
    this.nowNs = previous.nowNs;
    for (const [key, old] of previous.state) {
      const v = this.byKey.get(key);
      const oldV = previous.byKey.get(key);
      if (v === undefined || oldV === undefined) continue;
      const st = this.stateOf(v);
      const indexOf = new Map(v.realServers.map((r, i) => [r.key, i]));
      oldV.realServers.forEach((r, i) => {
        const j = indexOf.get(r.key);
        if (j === undefined) return;
        st.active[j] = old.active[i];
        st.inactive[j] = old.inactive[i];
        if (old.rrLast === i) st.rrLast = j;
      });
      for (const [client, t] of old.templates) {
        const j = indexOf.get(oldV.realServers[t.rs].key);
        if (j !== undefined) st.templates.set(client, { rs: j, expiry: t.expiry });
      }
    }
  }

  resetState(): void {
    this.state.clear();
    this.nowNs = 0;
  }

  /** A connection scheduled by evaluate() ended: one fewer on that real server. */
  connectionClosed(virtualServer: string, realServer: string): void {
    const v = this.byKey.get(virtualServer);
    if (v === undefined) return;
    const i = v.realServers.findIndex((r) => r.key === realServer);
    if (i < 0) return;
    const st = this.stateOf(v);
    const counts = v.protocol === "udp" ? st.inactive : st.active;
    if (counts[i] > 0) counts[i]--;
  }

  /** Connections the real servers of a virtual server hold (active + inactive). */
  connections(virtualServer: string): Map<string, number> {
    const v = this.byKey.get(virtualServer);
    const out = new Map<string, number>();
    if (v === undefined) return out;
    const st = this.stateOf(v);
    v.realServers.forEach((r, i) => out.set(r.key, st.active[i] + st.inactive[i]));
    return out;
  }

  private stateOf(v: VirtualServer): VsState {
    let st = this.state.get(v.key);
    if (st === undefined) {
      const n = v.realServers.length;
      st = { rrLast: -1, active: new Array<number>(n).fill(0), inactive: new Array<number>(n).fill(0), templates: new Map() };
      this.state.set(v.key, st);
    }
    return st;
  }

  // ---- evaluation ----------------------------------------------------------------------------

  evaluate(packet: Packet, _rng: UniformSource): IpvsVerdict {
    const fromHost = packet.ingress === "local" && packet.srcIP === this.options.nodeIP;
    const st: PacketState = {
      src: packet.srcIP,
      dst: packet.dstIP,
      dport: packet.dstPort,
      proto: packet.protocol === "TCP" ? "tcp" : packet.protocol === "UDP" ? "udp" : "sctp",
      fromHost,
      physdevIsIn: packet.ingress === "local" && !fromHost,
      mark: false,
      masquerade: false,
      vs: null,
      work: { rulesTraversed: 0, matchesTried: 0, mapLookups: 0, chainJumps: 0 },
    };
    const w = st.work;
    // A process of the node connecting to an address bound on kube-ipvs0 gets that address as
    // its source (the kernel's source selection for local destinations).
    if (fromHost && this.boundAddresses.has(st.dst)) st.src = st.dst;
    this.runBuiltin("nat", fromHost ? "OUTPUT" : "PREROUTING", st);

    let vs: VirtualServer | null = null;
    const local = this.isLocal(st.dst);
    if (fromHost || local) {
      w.mapLookups++;
      vs = this.lookup.get(vsLookupKey(st.proto, st.dst, st.dport)) ?? null;
    }
    if (fromHost) {
      st.vs = vs;
      const r = this.runBuiltin("filter", "OUTPUT", st);
      if (r !== "accept") return { action: r, masquerade: false, work: w };
    } else {
      const r = this.runBuiltin("filter", local ? "INPUT" : "FORWARD", st);
      if (r !== "accept") return { action: r, masquerade: false, work: w };
    }

    let verdict: IpvsVerdict;
    if (vs !== null) {
      const rs = this.schedule(vs, st);
      if (rs === null) return { action: "reject", masquerade: false, work: w, virtualServer: vs.key };
      st.dst = rs.ip;
      st.dport = rs.port;
      verdict = { action: "dnat", endpointIP: rs.ip, endpointPort: rs.port, masquerade: false, work: w, virtualServer: vs.key, realServer: rs.key };
    } else if (local) {
      return { action: "none", masquerade: false, work: w }; // delivered to the node itself
    } else {
      verdict = { action: "none", masquerade: false, work: w };
    }
    this.runBuiltin("nat", "POSTROUTING", st);
    verdict.masquerade = st.masquerade;
    return verdict;
  }

  private isLocal(ip: number): boolean {
    return ip === this.options.nodeIP || this.boundAddresses.has(ip) || (ip >= 0x7f000000 && ip < 0x80000000);
  }

  /** Picks the real server for a new connection and counts it; null: none available. */
  private schedule(v: VirtualServer, st: PacketState): RealServer | null {
    const w = st.work;
    const n = v.realServers.length;
    if (n === 0) return null;
    const s = this.stateOf(v);
    let chosen = -1;
    if (v.persistenceTimeout !== undefined) {
      w.mapLookups++;
      const t = s.templates.get(st.src);
      if (t !== undefined && t.expiry > this.nowNs) chosen = t.rs;
    }
    if (chosen < 0) chosen = this.pick(v.scheduler, v, s, st);
    if (chosen < 0) return null;
    if (v.persistenceTimeout !== undefined) s.templates.set(st.src, { rs: chosen, expiry: this.nowNs + v.persistenceTimeout * 1e9 });
    if (v.protocol === "udp") s.inactive[chosen]++;
    else s.active[chosen]++;
    return v.realServers[chosen];
  }

  private pick(scheduler: IpvsScheduler, v: VirtualServer, s: VsState, st: PacketState): number {
    const w = st.work;
    const n = v.realServers.length;
    switch (scheduler) {
      case "rr": {
        for (let k = 1; k <= n; k++) {
          const i = (s.rrLast + k) % n;
          w.matchesTried++;
          if (v.realServers[i].weight > 0) {
            s.rrLast = i;
            return i;
          }
        }
        return -1;
      }
      case "lc": {
        let best = -1;
        let bestOverhead = 0;
        for (let i = 0; i < n; i++) {
          w.matchesTried++;
          if (v.realServers[i].weight <= 0) continue;
          const overhead = (s.active[i] << 8) + s.inactive[i];
          if (best < 0 || overhead < bestOverhead) {
            best = i;
            bestOverhead = overhead;
          }
        }
        return best;
      }
      case "sed":
      case "nq": {
        let best = -1;
        let bestOverhead = 0;
        for (let i = 0; i < n; i++) {
          w.matchesTried++;
          const weight = v.realServers[i].weight;
          if (weight <= 0) continue;
          if (scheduler === "nq" && s.active[i] === 0) return i;
          const overhead = s.active[i] + 1;
          if (best < 0 || bestOverhead * weight > overhead * v.realServers[best].weight) {
            best = i;
            bestOverhead = overhead;
          }
        }
        return best;
      }
      case "dh":
      case "sh": {
        w.mapLookups++;
        // dh: (ntohl(daddr) * 2654435761) & 255. sh: hash_32(sport + ntohl(saddr), 8) with the
        // port 0 (kube-proxy sets no sh-port flag), i.e. the top 8 bits of saddr * 0x61C88647.
        const bucket = scheduler === "dh" ? Math.imul(st.dst | 0, 0x9e3779b1) & 255 : Math.imul(st.src | 0, 0x61c88647) >>> 24;
        // The 256 buckets are filled round-robin over the list (weight 1 each).
        const i = bucket % n;
        return v.realServers[i].weight > 0 ? i : -1;
      }
    }
  }

  private runBuiltin(table: "nat" | "filter", chain: string, st: PacketState): ChainResult {
    const w = st.work;
    const stack: Array<{ rules: IptRule[]; index: number }> = [];
    const tableChains = this.chains[table];
    let rules = tableChains.get(chain) ?? [];
    let index = 0;
    for (;;) {
      if (index >= rules.length) {
        const back = stack.pop();
        if (back === undefined) return "accept";
        rules = back.rules;
        index = back.index;
        continue;
      }
      const r = rules[index++];
      w.rulesTraversed++;
      if (!this.matches(r.matches, st)) continue;
      const t = r.target;
      switch (t.t) {
        case "jump":
          w.chainJumps++;
          stack.push({ rules, index });
          rules = tableChains.get(t.chain) ?? [];
          index = 0;
          break;
        case "RETURN": {
          const back = stack.pop();
          if (back === undefined) return "accept";
          rules = back.rules;
          index = back.index;
          break;
        }
        case "ACCEPT":
          return "accept";
        case "DROP":
          return "drop";
        case "REJECT":
          return "reject";
        case "MASQUERADE":
          st.masquerade = true;
          return "accept";
        case "MARK":
          st.mark = t.op === "or" ? true : !st.mark;
          break;
      }
    }
  }

  private matches(list: readonly IptMatch[], st: PacketState): boolean {
    const w = st.work;
    for (let k = 0; k < list.length; k++) {
      const m = list[k];
      if (m.m === "comment") continue;
      w.matchesTried++;
      let ok: boolean;
      switch (m.m) {
        case "src":
          ok = (st.src >= m.range.lo && st.src < m.range.hi) !== m.neg;
          break;
        case "proto":
          ok = st.proto === m.proto;
          break;
        case "set":
          w.mapLookups++;
          ok = this.inSet(m.set, m.flags, st);
          break;
        case "addrtype":
          ok = this.isLocal(m.field === "src" ? st.src : st.dst) !== m.neg;
          break;
        case "physdevIsIn":
          ok = st.physdevIsIn !== m.neg;
          break;
        case "mark":
          ok = st.mark !== m.neg;
          break;
        case "ctstate":
          ok = m.states === "NEW"; // a first packet
          break;
        case "ipvs":
          ok = st.vs !== null && st.vs.ipText === m.vaddr && st.vs.protocol === m.vproto && st.vs.port === m.vport;
          break;
      }
      if (!ok) return false;
    }
    return true;
  }

  private inSet(name: IpsetName, flags: string, st: PacketState): boolean {
    const idx = this.index.get(name) as IpsetIndex;
    switch (idx.type) {
      case "bitmap:port":
        return idx.keys.has(st.dport);
      case "hash:ip":
        return idx.keys.has(st.dst);
      default: {
        const ip = flags === "src,dst" ? st.src : st.dst;
        const key = vsLookupKey(st.proto, ip, st.dport);
        if (flags !== "dst,dst,src") return idx.keys.has(key);
        const ranges = idx.sources.get(key);
        if (ranges === undefined) return false;
        for (const [lo, hi] of ranges) if (st.src >= lo && st.src < hi) return true;
        return false;
      }
    }
  }
}

/** kube-proxy's IPVS mode. */
export class IpvsProxy implements ProxyMode {
  readonly name = "ipvs" as const;
  private readonly defaults: Omit<IpvsOptions, "nodeName" | "clusterCIDR">;

  constructor(defaults: Omit<IpvsOptions, "nodeName" | "clusterCIDR"> = {}) {
    this.defaults = defaults;
  }

  compile(state: ClusterState, options: IpvsOptions): IpvsDataPlane {
    return compileIpvs(state, { ...this.defaults, ...options });
  }
}

export function compileIpvs(state: ClusterState, options: IpvsOptions): IpvsDataPlane {
  return new IpvsDataPlane(compileIpvsState(state, options));
}
