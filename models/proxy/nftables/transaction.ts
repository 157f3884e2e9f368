/**
 * A model of the kernel's `kube-proxy` table that applies the transactions we render, command by
 * command, with the checks the kernel makes (a rule may only name existing chains and sets; a
 * chain or set in use cannot be deleted; a deleted element must exist; an existing map element
 * cannot silently change its value). It lets tests check that an incremental transaction applied
 * on top of the previous full state gives exactly the new full state, and it prints the table as
 * knftables' fake Dump() does (chains sorted, each with its rules; then sets; then maps, their
 * elements sorted), the form kube-proxy's own unit tests compare against.
 */
import { FAMILY, TABLE } from "./names.js";

interface ChainState {
  decl: string;
  rules: string[];
}

interface ContainerState {
  kind: "set" | "map";
  decl: string;
  /** key -> the `add element` line that put it there. */
  elements: Map<string, { line: string; value: string }>;
}

const PREFIX = `${FAMILY} ${TABLE} `;

export class NftTableState {
  table: string | null = null;
  readonly chains = new Map<string, ChainState>();
  readonly containers = new Map<string, ContainerState>();
}

function fail(line: string, why: string): never {
  throw new Error(`nft: ${why}\n  in: ${line}`);
}

/** The object name: the token after "ip kube-proxy ". */
function nameAfterPrefix(line: string, start: number): { name: string; rest: string } {
  const space = line.indexOf(" ", start);
  return space < 0 ? { name: line.slice(start), rest: "" } : { name: line.slice(start, space), rest: line.slice(space + 1) };
}

function parseElement(body: string): { key: string; value: string } {
  // body: KEY[ comment "…"][ : VALUE]; keys hold no ':' (IPv4) but comments may.
  const c = body.indexOf(' comment "');
  if (c >= 0) {
    const close = body.indexOf('"', c + 10);
    const after = body.slice(close + 1);
    return { key: body.slice(0, c), value: after.startsWith(" : ") ? after.slice(3) : "" };
  }
  const v = body.indexOf(" : ");
  return v >= 0 ? { key: body.slice(0, v), value: body.slice(v + 3) } : { key: body, value: "" };
}

function referencedChains(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(?:jump|goto) (\S+)/g)) out.push(m[1]);
  return out;
}

function referencedSets(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/@(\S+)/g)) out.push(m[1]);
  return out;
}

function chainInUse(state: NftTableState, name: string): boolean {
  for (const ch of state.chains.values()) for (const r of ch.rules) if (referencedChains(r).includes(name)) return true;
  for (const c of state.containers.values()) for (const e of c.elements.values()) if (referencedChains(e.value).includes(name)) return true;
  return false;
}

function setInUse(state: NftTableState, name: string): boolean {
  for (const ch of state.chains.values()) for (const r of ch.rules) if (referencedSets(r).includes(name)) return true;
  return false;
}

/** Applies a transaction (our `nft -f` text) to `state`; throws where the kernel would refuse. */
export function applyTransaction(state: NftTableState, text: string): void {
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(add|flush|delete) (table|chain|rule|set|map|element) /.exec(line);
    if (m === null) fail(line, "unknown command");
    const [, verb, kind] = m;
    const at = m[0].length;
    if (!line.startsWith(PREFIX, at)) fail(line, "not the ip kube-proxy table");
    if (kind === "table") {
      if (verb === "add") state.table ??= line;
      else if (verb === "delete") {
        state.table = null;
        state.chains.clear();
        state.containers.clear();
      } else fail(line, "unsupported table command");
      continue;
    }
    if (state.table === null) fail(line, "no such table");
    const { name, rest } = nameAfterPrefix(line, at + PREFIX.length);
    switch (kind) {
      case "chain": {
        const chain = state.chains.get(name);
        if (verb === "add") {
          if (chain === undefined) state.chains.set(name, { decl: line, rules: [] });
        } else if (chain === undefined) fail(line, "no such chain");
        else if (verb === "flush") chain.rules = [];
        else {
          if (chainInUse(state, name)) fail(line, "chain in use");
          state.chains.delete(name);
        }
        break;
      }
      case "rule": {
        const chain = state.chains.get(name);
        if (verb !== "add") fail(line, "unsupported rule command");
        if (chain === undefined) fail(line, "no such chain");
        for (const c of referencedChains(rest)) if (!state.chains.has(c)) fail(line, `jump to unknown chain ${c}`);
        for (const s of referencedSets(rest)) if (!state.containers.has(s)) fail(line, `unknown set ${s}`);
        chain.rules.push(rest);
        break;
      }
      case "set":
      case "map": {
        const c = state.containers.get(name);
        if (verb === "add") {
          if (c === undefined) state.containers.set(name, { kind, decl: line, elements: new Map() });
        } else if (c === undefined || c.kind !== kind) fail(line, `no such ${kind}`);
        else if (verb === "flush") c.elements.clear();
        else {
          if (setInUse(state, name)) fail(line, `${kind} in use`);
          state.containers.delete(name);
        }
        break;
      }
      case "element": {
        const c = state.containers.get(name);
        if (c === undefined) fail(line, "no such set or map");
        if (!rest.startsWith("{ ") || !rest.endsWith(" }")) fail(line, "malformed element");
        const { key, value } = parseElement(rest.slice(2, -2));
        const existing = c.elements.get(key);
        if (verb === "add") {
          for (const ch of referencedChains(value)) if (!state.chains.has(ch)) fail(line, `element points to unknown chain ${ch}`);
          if (existing === undefined) c.elements.set(key, { line, value });
          else if (existing.value !== value) fail(line, "element exists with another value");
        } else if (verb === "delete") {
          if (existing === undefined) fail(line, "no such element");
          c.elements.delete(key);
        } else fail(line, "unsupported element command");
        break;
      }
    }
  }
}

/** The table as knftables' Fake.Dump() prints it: chains, then sets, then maps, each sorted by name. */
export function dumpTable(state: NftTableState): string {
  if (state.table === null) return "";
  const out: string[] = [state.table];
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  for (const name of [...state.chains.keys()].sort(byName)) {
    const ch = state.chains.get(name) as ChainState;
    out.push(ch.decl);
    for (const r of ch.rules) out.push(`add rule ${PREFIX}${name} ${r}`);
  }
  for (const kind of ["set", "map"] as const) {
    for (const name of [...state.containers.keys()].sort(byName)) {
      const c = state.containers.get(name) as ContainerState;
      if (c.kind !== kind) continue;
      out.push(c.decl);
      // Element order in a set or map carries no meaning; print them sorted, as kube-proxy's
      // tests compare them.
      for (const line of [...c.elements.values()].map((e) => e.line).sort(byName)) out.push(line);
    }
  }
  return `${out.join("\n")}\n`;
}
