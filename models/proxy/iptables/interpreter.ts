/**
 * The reference evaluator: walks rendered iptables rules as netfilter does for the first packet
 * of a connection, rule by rule, and counts the work.
 *
 * The packet's path through the hooks (IPv4, conntrack state NEW):
 * - from a host process (ingress "local" and a LOCAL source address): nat OUTPUT, filter
 *   OUTPUT, nat POSTROUTING;
 * - otherwise (a local pod, or a packet from outside the node): nat PREROUTING, then after the
 *   routing decision filter INPUT (destination now LOCAL) or filter FORWARD, then nat
 *   POSTROUTING. A DROP or REJECT in filter ends the walk before POSTROUTING.
 *
 * Within a chain the first matching rule's target applies: a jump pushes a return point, RETURN
 * or the end of a user chain pops it, the end of a built-in chain applies its policy. DNAT and
 * MASQUERADE end the nat hook, ACCEPT/DROP/REJECT end the hook; MARK and a rule without target
 * continue. `-m statistic --mode random --probability p` matches when `rng.next() < p`.
 * LOCAL addresses (addrtype) are the node's IP and 127.0.0.0/8.
 *
 * Work: every rule whose matches are tried counts once in rulesTraversed; its matches are tried
 * in kernel order (source, destination, protocol, then each -m module as written) and stop at
 * the first that fails, each one tried counting once in matchesTried (`-m comment` is not a
 * match); every jump or goto to a chain counts in chainJumps; each `-m recent` lookup counts in
 * mapLookups.
 */
import type { Packet, UniformSource, Verdict, VerdictAction, Work } from "../types.js";
import type { RecentTable } from "./affinity.js";
import { KUBE_PROXY_HOOK_RULES } from "./hooks.js";
import {
  CT_DNAT,
  CT_NEW,
  M_ADDRTYPE,
  M_CONNTRACK,
  M_MARK,
  M_NFACCT,
  M_PORT,
  M_RECENT_CHECK,
  M_RECENT_SET,
  M_STATISTIC,
  parseIptablesRestore,
  resolveJumps,
  T_ACCEPT,
  T_DNAT,
  T_DROP,
  T_GOTO,
  T_JUMP,
  T_MARK,
  T_MASQUERADE,
  T_NONE,
  T_REJECT,
  T_RETURN,
} from "./parse.js";
import type { Chain, ParsedRuleset, Rule } from "./parse.js";

const PROTO_LOWER = { TCP: "tcp", UDP: "udp", SCTP: "sctp" } as const;

/** Hook outcomes. */
const V_ACCEPT = 0;
const V_DROP = 1;
const V_REJECT = 2;

interface PacketState {
  src: number;
  dst: number;
  dport: number;
  proto: string;
  mark: number;
  ctstate: number;
  dnat: boolean;
  masquerade: boolean;
  nodeIP: number;
  rng: UniformSource;
  affinity: RecentTable | undefined;
  work: Work;
  trace: string[] | undefined;
}

function isLocal(ip: number, nodeIP: number): boolean {
  return ip === nodeIP || ip >>> 24 === 127;
}

/** A ruleset ready to evaluate: the rendered rules plus kube-proxy's hook rules, jumps resolved. */
export class PreparedRuleset {
  readonly natPrerouting: Chain;
  readonly natOutput: Chain;
  readonly natPostrouting: Chain;
  readonly filterInput: Chain;
  readonly filterForward: Chain;
  readonly filterOutput: Chain;

  constructor(readonly ruleset: ParsedRuleset) {
    const chain = (table: string, name: string): Chain => {
      const c = ruleset.tables.get(table)?.chains.get(name);
      if (!c) throw new Error(`iptables interpreter: no ${table} ${name} chain`);
      return c;
    };
    this.natPrerouting = chain("nat", "PREROUTING");
    this.natOutput = chain("nat", "OUTPUT");
    this.natPostrouting = chain("nat", "POSTROUTING");
    this.filterInput = chain("filter", "INPUT");
    this.filterForward = chain("filter", "FORWARD");
    this.filterOutput = chain("filter", "OUTPUT");
  }
}

/**
 * Parses rendered rules (or takes parsed ones) and adds kube-proxy's hook rules to the built-in
 * chains the input does not define itself.
 */
export function prepareRuleset(rules: string | ParsedRuleset): PreparedRuleset {
  const base = parseIptablesRestore(KUBE_PROXY_HOOK_RULES);
  if (typeof rules === "string") {
    parseIptablesRestore(rules, base);
  } else {
    for (const [name, table] of rules.tables) {
      const into = base.tables.get(name);
      if (!into) base.tables.set(name, { name, chains: new Map(table.chains) });
      else for (const [chainName, chain] of table.chains) into.chains.set(chainName, chain);
    }
  }
  resolveJumps(base);
  return new PreparedRuleset(base);
}

function matchRule(rule: Rule, st: PacketState): boolean {
  const w = st.work;
  if (rule.src !== null) {
    w.matchesTried++;
    const s = rule.src;
    if ((st.src >= s.base && st.src < s.base + s.size) === s.invert) return false;
  }
  if (rule.dst !== null) {
    w.matchesTried++;
    const d = rule.dst;
    if ((st.dst >= d.base && st.dst < d.base + d.size) === d.invert) return false;
  }
  if (rule.proto !== null) {
    w.matchesTried++;
    if ((st.proto === rule.proto) === rule.protoInvert) return false;
  }
  const ms = rule.matches;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i];
    w.matchesTried++;
    let ok: boolean;
    switch (m.kind) {
      case M_PORT:
        ok = m.dport < 0 || (st.dport === m.dport) !== m.invert;
        break;
      case M_ADDRTYPE:
        ok = isLocal(m.source ? st.src : st.dst, st.nodeIP) !== m.invert;
        break;
      case M_STATISTIC:
        ok = st.rng.next() < m.probability;
        break;
      case M_RECENT_CHECK:
        w.mapLookups++;
        ok = (st.affinity !== undefined && st.affinity.rcheck(m.name, st.src, m.seconds, m.reap)) !== m.invert;
        break;
      case M_RECENT_SET:
        w.mapLookups++;
        st.affinity?.set(m.name, st.src);
        ok = true;
        break;
      case M_MARK:
        ok = ((st.mark & m.mask) >>> 0 === m.value) !== m.invert;
        break;
      case M_CONNTRACK:
        ok = ((st.ctstate & m.states) !== 0) !== m.invert;
        break;
      case M_NFACCT:
        ok = true;
        break;
      default:
        throw new Error(`iptables interpreter: unknown match kind ${m.kind}`);
    }
    if (!ok) return false;
  }
  return true;
}

/** Walks one hook's built-in chain; returns V_ACCEPT, V_DROP or V_REJECT. */
function runHook(hook: Chain, st: PacketState, tableName: string): number {
  const w = st.work;
  const stackChains: Chain[] = [];
  const stackIndex: number[] = [];
  let chain = hook;
  let i = 0;
  for (;;) {
    const rules = chain.rules;
    if (i >= rules.length) {
      if (stackChains.length === 0) return hook.policy === "DROP" ? V_DROP : V_ACCEPT;
      chain = stackChains.pop() as Chain;
      i = stackIndex.pop() as number;
      continue;
    }
    const rule = rules[i];
    w.rulesTraversed++;
    const matched = matchRule(rule, st);
    if (st.trace) st.trace.push(`${tableName} ${matched ? "+" : "-"} ${rule.text}`);
    if (!matched) {
      i++;
      continue;
    }
    switch (rule.target) {
      case T_NONE:
        i++;
        break;
      case T_JUMP:
        w.chainJumps++;
        stackChains.push(chain);
        stackIndex.push(i + 1);
        chain = rule.targetChain as Chain;
        i = 0;
        break;
      case T_GOTO:
        w.chainJumps++;
        chain = rule.targetChain as Chain;
        i = 0;
        break;
      case T_RETURN:
        if (stackChains.length === 0) return hook.policy === "DROP" ? V_DROP : V_ACCEPT;
        chain = stackChains.pop() as Chain;
        i = stackIndex.pop() as number;
        break;
      case T_ACCEPT:
        return V_ACCEPT;
      case T_DROP:
        return V_DROP;
      case T_REJECT:
        return V_REJECT;
      case T_DNAT:
        st.dst = rule.dnatIP;
        if (rule.dnatPort !== 0) st.dport = rule.dnatPort;
        st.dnat = true;
        st.ctstate |= CT_DNAT;
        return V_ACCEPT;
      case T_MARK:
        st.mark = ((st.mark & ~rule.markMask) ^ rule.markValue) >>> 0;
        i++;
        break;
      case T_MASQUERADE:
        st.masquerade = true;
        return V_ACCEPT;
      default:
        throw new Error(`iptables interpreter: unknown target ${rule.target}`);
    }
  }
}

export interface InterpretOptions {
  /** The xt_recent state for ClientIP affinity; without it `--rcheck` never matches. */
  affinity?: RecentTable;
  /** When given, every rule tried is appended ("nat + -A KUBE-SERVICES ..."). */
  trace?: string[];
}

let lastText: string | null = null;
let lastPrepared: PreparedRuleset | null = null;
const preparedByRuleset = new WeakMap<ParsedRuleset, PreparedRuleset>();

function prepared(rules: string | ParsedRuleset | PreparedRuleset): PreparedRuleset {
  if (rules instanceof PreparedRuleset) return rules;
  if (typeof rules === "string") {
    if (rules !== lastText || lastPrepared === null) {
      lastPrepared = prepareRuleset(rules);
      lastText = rules;
    }
    return lastPrepared;
  }
  let p = preparedByRuleset.get(rules);
  if (!p) {
    p = prepareRuleset(rules);
    preparedByRuleset.set(rules, p);
  }
  return p;
}

/**
 * Evaluates the first packet of a connection against rendered iptables rules (text, parsed, or
 * prepared with `prepareRuleset`; text is parsed once and cached while the same text is passed).
 * `nodeIP` is the node's IPv4 address as an unsigned 32-bit number.
 */
export function interpretIptables(
  rules: string | ParsedRuleset | PreparedRuleset,
  nodeIP: number,
  packet: Packet,
  rng: UniformSource,
  options: InterpretOptions = {},
): Verdict {
  const rs = prepared(rules);
  const work: Work = { rulesTraversed: 0, matchesTried: 0, mapLookups: 0, chainJumps: 0 };
  const st: PacketState = {
    src: packet.srcIP >>> 0,
    dst: packet.dstIP >>> 0,
    dport: packet.dstPort,
    proto: PROTO_LOWER[packet.protocol],
    mark: 0,
    ctstate: CT_NEW,
    dnat: false,
    masquerade: false,
    nodeIP: nodeIP >>> 0,
    rng,
    affinity: options.affinity,
    work,
    trace: options.trace,
  };
  const fromHost = packet.ingress === "local" && isLocal(st.src, st.nodeIP);
  let v = runHook(fromHost ? rs.natOutput : rs.natPrerouting, st, "nat");
  if (v === V_ACCEPT) {
    const filterHook = fromHost ? rs.filterOutput : isLocal(st.dst, st.nodeIP) ? rs.filterInput : rs.filterForward;
    v = runHook(filterHook, st, "filter");
  }
  if (v === V_ACCEPT) runHook(rs.natPostrouting, st, "nat");
  let action: VerdictAction;
  if (v === V_DROP) action = "drop";
  else if (v === V_REJECT) action = "reject";
  else action = st.dnat ? "dnat" : "none";
  const verdict: Verdict = { action, masquerade: st.masquerade, work };
  if (action === "dnat") {
    verdict.endpointIP = st.dst;
    verdict.endpointPort = st.dport;
  }
  return verdict;
}
