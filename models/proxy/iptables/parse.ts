/**
 * A parser for `iptables-restore` input, covering the matches and targets kube-proxy's iptables
 * mode uses. It turns text into tables of chains of rules whose matches are kept in the order the
 * kernel evaluates them: first the IP header part (`-s`, `-d`, `-p`, in that order, as
 * ip_packet_match checks them), then each `-m` module in the order written. `-m comment` is kept
 * out of the match list: it always matches and does no work.
 */
import { tryParseCidr, tryParseIPv4 } from "../../network/ip.js";

export const M_PORT = 1;
export const M_ADDRTYPE = 2;
export const M_STATISTIC = 3;
export const M_RECENT_CHECK = 4;
export const M_RECENT_SET = 5;
export const M_MARK = 6;
export const M_CONNTRACK = 7;
export const M_NFACCT = 8;

/** conntrack states as bits. */
export const CT_NEW = 1;
export const CT_ESTABLISHED = 2;
export const CT_RELATED = 4;
export const CT_INVALID = 8;
export const CT_UNTRACKED = 16;
export const CT_SNAT = 32;
export const CT_DNAT = 64;

export interface Match {
  kind: number;
  invert: boolean;
  /** M_PORT: --dport, or -1 for "any". */
  dport: number;
  /** M_ADDRTYPE: true for --src-type, false for --dst-type (always LOCAL in kube-proxy's rules). */
  source: boolean;
  /** M_STATISTIC: --probability. */
  probability: number;
  /** M_RECENT_*: --name. */
  name: string;
  /** M_RECENT_CHECK: --seconds (0: no age limit). */
  seconds: number;
  reap: boolean;
  /** M_MARK: --mark value/mask. */
  value: number;
  mask: number;
  /** M_CONNTRACK: --ctstate bits. */
  states: number;
}

export interface AddressMatch {
  base: number;
  size: number;
  invert: boolean;
}

export const T_NONE = 0;
export const T_JUMP = 1;
export const T_GOTO = 2;
export const T_ACCEPT = 3;
export const T_DROP = 4;
export const T_REJECT = 5;
export const T_RETURN = 6;
export const T_DNAT = 7;
export const T_MARK = 8;
export const T_MASQUERADE = 9;

export interface Rule {
  /** The rule as written (for traces and error messages). */
  text: string;
  src: AddressMatch | null;
  dst: AddressMatch | null;
  /** -p, lower case, or null. */
  proto: string | null;
  protoInvert: boolean;
  matches: Match[];
  target: number;
  /** T_JUMP/T_GOTO: the chain name; resolved to `targetChain` after parsing. */
  targetName: string;
  targetChain: Chain | null;
  /** T_DNAT --to-destination. */
  dnatIP: number;
  dnatPort: number;
  /** T_MARK: mark = (mark & ~markMask) ^ markValue (--or-mark v: v/v; --xor-mark v: v/0). */
  markValue: number;
  markMask: number;
}

export interface Chain {
  name: string;
  /** ACCEPT/DROP for built-in chains, "-" for user chains. */
  policy: string;
  rules: Rule[];
}

export interface Table {
  name: string;
  chains: Map<string, Chain>;
}

export interface ParsedRuleset {
  tables: Map<string, Table>;
}

export class IptablesParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Splits a rule line into arguments; double-quoted strings are one argument without quotes. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    if (line[i] === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new Error("unterminated quote");
      out.push(line.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < n && line.charCodeAt(j) !== 32) j++;
      out.push(line.slice(i, j));
      i = j;
    }
  }
  return out;
}

function newMatch(kind: number): Match {
  return { kind, invert: false, dport: -1, source: false, probability: 1, name: "", seconds: 0, reap: false, value: 0, mask: 0, states: 0 };
}

const BUILTIN_CHAINS = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);

function parseAddress(text: string, invert: boolean): AddressMatch {
  const ip = tryParseIPv4(text);
  if (ip !== null) return { base: ip, size: 1, invert };
  const cidr = tryParseCidr(text);
  if (cidr === null) throw new Error(`bad address ${JSON.stringify(text)}`);
  return { base: cidr.base, size: cidr.size, invert };
}

function parseStates(text: string): number {
  let bits = 0;
  for (const s of text.split(",")) {
    switch (s) {
      case "NEW": bits |= CT_NEW; break;
      case "ESTABLISHED": bits |= CT_ESTABLISHED; break;
      case "RELATED": bits |= CT_RELATED; break;
      case "INVALID": bits |= CT_INVALID; break;
      case "UNTRACKED": bits |= CT_UNTRACKED; break;
      case "SNAT": bits |= CT_SNAT; break;
      case "DNAT": bits |= CT_DNAT; break;
      default: throw new Error(`unknown conntrack state ${s}`);
    }
  }
  return bits;
}

/** Parses one `-A CHAIN ...` argument list (without "-A CHAIN"). */
function parseRule(args: string[], text: string): Rule {
  const rule: Rule = {
    text,
    src: null,
    dst: null,
    proto: null,
    protoInvert: false,
    matches: [],
    target: T_NONE,
    targetName: "",
    targetChain: null,
    dnatIP: 0,
    dnatPort: 0,
    markValue: 0,
    markMask: 0,
  };
  // The module that options attach to; "comment" options are swallowed.
  let module = "";
  let current: Match | null = null;
  let invert = false;
  let i = 0;
  const need = (): string => {
    if (i + 1 >= args.length) throw new Error(`${args[i]} needs a value`);
    return args[++i];
  };
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "!") {
      invert = true;
      continue;
    }
    switch (a) {
      case "-s":
      case "--source":
        rule.src = parseAddress(need(), invert);
        break;
      case "-d":
      case "--destination":
        rule.dst = parseAddress(need(), invert);
        break;
      case "-p":
      case "--protocol":
        rule.proto = need().toLowerCase();
        rule.protoInvert = invert;
        break;
      case "-m":
      case "--match": {
        module = need();
        current = null;
        switch (module) {
          case "comment":
            break;
          case "tcp":
          case "udp":
          case "sctp":
            current = newMatch(M_PORT);
            rule.matches.push(current);
            break;
          case "addrtype":
            current = newMatch(M_ADDRTYPE);
            rule.matches.push(current);
            break;
          case "statistic":
            current = newMatch(M_STATISTIC);
            rule.matches.push(current);
            break;
          case "recent":
            current = newMatch(M_RECENT_CHECK);
            rule.matches.push(current);
            break;
          case "mark":
            current = newMatch(M_MARK);
            rule.matches.push(current);
            break;
          case "conntrack":
            current = newMatch(M_CONNTRACK);
            rule.matches.push(current);
            break;
          case "nfacct":
            current = newMatch(M_NFACCT);
            rule.matches.push(current);
            break;
          default:
            throw new Error(`unsupported match module ${module}`);
        }
        break;
      }
      case "--comment":
        if (module !== "comment") throw new Error("--comment outside -m comment");
        need();
        break;
      case "--dport":
      case "--destination-port": {
        if (current === null || current.kind !== M_PORT) {
          // iptables loads the protocol's module implicitly after -p.
          current = newMatch(M_PORT);
          rule.matches.push(current);
        }
        current.dport = Number(need());
        current.invert = invert;
        break;
      }
      case "--dst-type":
      case "--src-type": {
        if (current === null || current.kind !== M_ADDRTYPE) throw new Error(`${a} outside -m addrtype`);
        const type = need();
        if (type !== "LOCAL") throw new Error(`unsupported address type ${type}`);
        current.source = a === "--src-type";
        current.invert = invert;
        break;
      }
      case "--mode":
        if (need() !== "random") throw new Error("only --mode random is supported");
        break;
      case "--probability":
        if (current === null || current.kind !== M_STATISTIC) throw new Error("--probability outside -m statistic");
        current.probability = Number(need());
        break;
      case "--name":
        if (current === null || (current.kind !== M_RECENT_CHECK && current.kind !== M_RECENT_SET)) {
          throw new Error("--name outside -m recent");
        }
        current.name = need();
        break;
      case "--rcheck":
        if (current === null || current.kind !== M_RECENT_CHECK) throw new Error("--rcheck outside -m recent");
        current.invert = invert;
        break;
      case "--set":
        if (current === null || (current.kind !== M_RECENT_CHECK && current.kind !== M_RECENT_SET)) {
          throw new Error("--set outside -m recent");
        }
        current.kind = M_RECENT_SET;
        break;
      case "--seconds":
        if (current === null || current.kind !== M_RECENT_CHECK) throw new Error("--seconds outside -m recent");
        current.seconds = Number(need());
        break;
      case "--reap":
        if (current === null || current.kind !== M_RECENT_CHECK) throw new Error("--reap outside -m recent");
        current.reap = true;
        break;
      case "--mark": {
        if (current === null || current.kind !== M_MARK) throw new Error("--mark outside -m mark");
        const [v, m] = need().split("/");
        current.value = Number.parseInt(v, 16) >>> 0;
        current.mask = m === undefined ? 0xffffffff : Number.parseInt(m, 16) >>> 0;
        current.invert = invert;
        break;
      }
      case "--ctstate":
        if (current === null || current.kind !== M_CONNTRACK) throw new Error("--ctstate outside -m conntrack");
        current.states = parseStates(need());
        current.invert = invert;
        break;
      case "--nfacct-name":
        if (current === null || current.kind !== M_NFACCT) throw new Error("--nfacct-name outside -m nfacct");
        need();
        break;
      case "-j":
      case "--jump":
      case "-g":
      case "--goto": {
        const target = need();
        const isGoto = a === "-g" || a === "--goto";
        switch (isGoto ? "" : target) {
          case "ACCEPT": rule.target = T_ACCEPT; break;
          case "DROP": rule.target = T_DROP; break;
          case "REJECT": rule.target = T_REJECT; break;
          case "RETURN": rule.target = T_RETURN; break;
          case "DNAT": rule.target = T_DNAT; break;
          case "MARK": rule.target = T_MARK; break;
          case "MASQUERADE": rule.target = T_MASQUERADE; break;
          default:
            rule.target = isGoto ? T_GOTO : T_JUMP;
            rule.targetName = target;
        }
        module = "";
        current = null;
        break;
      }
      case "--to-destination": {
        const to = need();
        const colon = to.lastIndexOf(":");
        const ip = tryParseIPv4(colon < 0 ? to : to.slice(0, colon));
        if (ip === null) throw new Error(`bad --to-destination ${to}`);
        rule.dnatIP = ip;
        rule.dnatPort = colon < 0 ? 0 : Number(to.slice(colon + 1));
        break;
      }
      case "--or-mark":
        rule.markValue = Number.parseInt(need(), 16) >>> 0;
        rule.markMask = rule.markValue;
        break;
      case "--xor-mark":
        rule.markValue = Number.parseInt(need(), 16) >>> 0;
        rule.markMask = 0;
        break;
      case "--set-xmark": {
        // iptables-save's spelling of both.
        const [v, m] = need().split("/");
        rule.markValue = Number.parseInt(v, 16) >>> 0;
        rule.markMask = m === undefined ? 0xffffffff : Number.parseInt(m, 16) >>> 0;
        break;
      }
      case "--random-fully":
        break;
      case "--reject-with":
        need();
        break;
      case "--mask":
        // xt_recent's address mask; kube-proxy's lists key on the full source address.
        if (need() !== "255.255.255.255") throw new Error("only --mask 255.255.255.255 is supported");
        break;
      case "--rsource":
        break;
      default:
        throw new Error(`unsupported option ${a}`);
    }
    invert = false;
  }
  if (invert) throw new Error("dangling !");
  return rule;
}

/**
 * Parses iptables-restore input. Chains declared with `:NAME POLICY [p:b]`; `-A` appends;
 * `-X` deletes a (user) chain; `COMMIT` ends a table. A table given twice is merged, as
 * `iptables-restore --noflush` would.
 */
export function parseIptablesRestore(text: string, into?: ParsedRuleset): ParsedRuleset {
  const ruleset: ParsedRuleset = into ?? { tables: new Map() };
  let table: Table | null = null;
  let lineNo = 0;
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = n;
    const line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line === "" || line[0] === "#") continue;
    try {
      if (line[0] === "*") {
        const name = line.slice(1).trim();
        table = ruleset.tables.get(name) ?? { name, chains: new Map() };
        ruleset.tables.set(name, table);
      } else if (line === "COMMIT") {
        if (table === null) throw new Error("COMMIT outside a table");
        table = null;
      } else if (table === null) {
        throw new Error("line outside a table");
      } else if (line[0] === ":") {
        const sp = line.indexOf(" ");
        const name = sp < 0 ? line.slice(1) : line.slice(1, sp);
        const policy = sp < 0 ? "-" : line.slice(sp + 1).split(" ")[0];
        const existing = table.chains.get(name);
        // A chain line flushes the chain (kube-proxy relies on this).
        if (existing) existing.rules = [];
        else table.chains.set(name, { name, policy: BUILTIN_CHAINS.has(name) ? policy : "-", rules: [] });
      } else if (line.startsWith("-A ")) {
        const sp = line.indexOf(" ", 3);
        const chainName = sp < 0 ? line.slice(3) : line.slice(3, sp);
        const chain = table.chains.get(chainName);
        if (!chain) throw new Error(`rule for undeclared chain ${chainName}`);
        chain.rules.push(parseRule(tokenize(sp < 0 ? "" : line.slice(sp + 1)), line));
      } else if (line.startsWith("-X ")) {
        table.chains.delete(line.slice(3).trim());
      } else {
        throw new Error(`unsupported line`);
      }
    } catch (err) {
      if (err instanceof IptablesParseError) throw err;
      throw new IptablesParseError(`${(err as Error).message}: ${line}`, lineNo);
    }
  }
  if (table !== null) throw new IptablesParseError(`table ${table.name} has no COMMIT`, lineNo);
  return ruleset;
}

/**
 * Resolves jump targets to chains. A jump to a chain that does not exist resolves to an empty
 * chain of that name (kube-proxy ensures such chains exist, e.g. KUBE-FIREWALL, even when it
 * writes no rules to them).
 */
export function resolveJumps(ruleset: ParsedRuleset): void {
  for (const table of ruleset.tables.values()) {
    for (const chain of [...table.chains.values()]) {
      for (const rule of chain.rules) {
        if (rule.target !== T_JUMP && rule.target !== T_GOTO) continue;
        let target = table.chains.get(rule.targetName);
        if (!target) {
          target = { name: rule.targetName, policy: "-", rules: [] };
          table.chains.set(rule.targetName, target);
        }
        rule.targetChain = target;
      }
    }
  }
}
