/**
 * Reads a YAML stream into plain values, with bounded work on hostile input: a size cap before
 * parsing, an alias-expansion cap (billion laughs), a document-count cap, and stack exhaustion
 * on absurd nesting turned into an InputError.
 *
 * Two parsers, each for what it is best at: js-yaml loads well-formed streams fast (a
 * `kubectl get -o yaml` of 10,000 Services in a fraction of a second, where yaml's document
 * model takes many seconds); yaml, with its source positions and careful messages, reports
 * the line of a bad field and everything js-yaml refuses, by parsing the stream again — only
 * on the way to an error.
 */
import { createRequire } from "node:module";
import jsyaml from "js-yaml";
import type { Document } from "yaml";
import { InputError } from "../../sim/errors.js";

/** yaml is loaded only on the way to an error (or for a stream js-yaml refuses): ~25 ms saved at every start. */
let yamlPackage: typeof import("yaml") | undefined;
function yamlLib(): typeof import("yaml") {
  yamlPackage ??= createRequire(import.meta.url)("yaml") as typeof import("yaml");
  return yamlPackage;
}

export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Alias nodes expanded per document; yaml's own default is 100. */
export const DEFAULT_MAX_ALIAS_COUNT = 100;
export const DEFAULT_MAX_DOCUMENTS = 100_000;

export interface ReadLimits {
  maxBytes?: number;
  maxAliasCount?: number;
  maxDocuments?: number;
}

/** Nesting (flow brackets, or indentation and compact "- " markers) allowed before parsing. */
export const MAX_NESTING = 200;

export type PathSegment = string | number;

export interface SourceDocument {
  /** 1-based position in the stream. */
  index: number;
  /** The document as plain data; keys with null values removed (Kubernetes reads null as unset). */
  value: unknown;
  /** 1-based line of the field at `path`, or of its nearest ancestor that exists. */
  lineOf(path: readonly PathSegment[]): number | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Drops null-valued keys of mappings, recursively (`creationTimestamp: null` and friends). */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue;
      out[k] = stripNulls(v);
    }
    return out;
  }
  return value;
}

/**
 * Refuses absurd nesting before yaml sees it. yaml survives a stack overflow on deep input by
 * reporting it as a parse error, but V8 can be left unable to compile regular expressions
 * afterwards (a later parse in the same process then dies out of memory), so such input must
 * never reach the parser. The scan is linear and conservative: flow brackets are counted even
 * inside quotes, which only matters for hundreds of unbalanced brackets in a string.
 *
 * It looks at characters only where they matter: each line's start (indentation and compact
 * "- " / "? " markers), found with indexOf, and the flow brackets, each kind found with
 * indexOf too; the text between is skipped (on a 7.6 MB stream, cold: ~15 ms, where a
 * character-by-character scan took ~29). A marker that ends its line counts on that line (the
 * character-by-character scan took the line break as the marker's blank, and numbered every
 * later line one too low).
 */
export function checkNesting(text: string, file: string, max = MAX_NESTING): void {
  let line = 1;
  const fail = (what: string) =>
    new InputError(`the YAML is nested too deeply (${what} at line ${line})`, {
      file,
      expected: `at most ${max} levels of nesting`,
      found: "more",
    });
  const n = text.length;
  // The next position of each flow bracket, or n: "[", "{", "]", "}".
  const brackets = [91, 123, 93, 125];
  const next = brackets.map((c) => at(text.indexOf(String.fromCharCode(c)), n));
  let flow = 0;
  let i = 0;
  while (i < n) {
    // The line's start: spaces, and "- " or "? " markers (a marker may end the line).
    let indent = 0;
    let markers = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 32) {
        if (++indent > max) throw fail("indentation");
      } else if ((c === 45 || c === 63) && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 10)) {
        if (indent + ++markers * 2 > max * 2) throw fail("block nesting");
        if (text.charCodeAt(i + 1) === 32) i++;
      } else break;
    }
    // The rest of the line: its flow brackets, in order.
    const end = at(text.indexOf("\n", i), n);
    for (;;) {
      let k = 0;
      for (let j = 1; j < 4; j++) if (next[j] < next[k]) k = j;
      const p = next[k];
      if (p >= end) break;
      if (k < 2) {
        if (++flow > max) throw fail("brackets");
      } else if (flow > 0) flow--;
      next[k] = at(text.indexOf(String.fromCharCode(brackets[k]), p + 1), n);
    }
    i = end + 1;
    line++;
  }
}

/** An indexOf result, with "not found" as `n`. */
function at(position: number, n: number): number {
  return position < 0 ? n : position;
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/**
 * Nodes a value has once aliases are expanded (shared references counted at every use), or
 * Infinity past `cap`. Linear in the distinct nodes, thanks to the memo.
 */
function expandedSize(value: unknown, cap: number, memo = new Map<object, number>()): number {
  if (typeof value !== "object" || value === null) return 1;
  const known = memo.get(value);
  if (known !== undefined) return known;
  let size = 1;
  const children = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
  for (const child of children) {
    size += expandedSize(child, cap, memo);
    if (size > cap) break;
  }
  memo.set(value, size > cap ? Infinity : size);
  return size > cap ? Infinity : size;
}

/** Distinct nodes, each counted once however often it is referenced. */
function distinctSize(value: unknown, seen = new Set<object>()): number {
  if (typeof value !== "object" || value === null || seen.has(value)) return typeof value === "object" && value !== null ? 0 : 1;
  seen.add(value);
  let size = 1;
  for (const child of Array.isArray(value) ? value : Object.values(value as Record<string, unknown>)) size += distinctSize(child, seen);
  return size;
}

/** Drops null-valued keys in place (the fast path's values are ours to change). */
function stripNullsInPlace(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (const v of value) stripNullsInPlace(v);
  } else if (isRecord(value)) {
    for (const k in value) {
      const v = value[k];
      if (v === null || v === undefined) delete value[k];
      else if (typeof v === "object") stripNullsInPlace(v);
    }
  }
  return value;
}

/** A document's aliases expand beyond `maxAliasCount` nodes' worth (checked only for streams with anchors). */
function aliasesExpandTooMuch(value: unknown, maxAliasCount: number): boolean {
  // Aliases may repeat at most `maxAliasCount` nodes' worth beyond the document itself.
  return expandedSize(value, distinctSize(value) + 100 * maxAliasCount) === Infinity;
}

/** Thrown inside js-yaml's document callback to leave the fast path for the careful one. */
class UseCarefulPath extends Error {}

/**
 * The stream cut into texts of whole documents: before each document-marker line (`---` at the
 * start of a line, then a blank, a line break or the end). YAML forbids such a line inside any
 * scalar, so no document spans a cut, and js-yaml starts every document afresh (anchors, tags),
 * so each piece parses as it would in the whole stream. The text before the first marker is
 * dropped when it holds only blank lines and comments: in the whole stream it is no document,
 * alone js-yaml would read it as an empty one. Undefined for a stream with directives (`%YAML`,
 * `%TAG` lines belong to the document after them): that is parsed whole.
 */
export function documentTexts(text: string): string[] | undefined {
  if (text.startsWith("%") || text.includes("\n%")) return undefined;
  const pieces: string[] = [];
  let from = 0;
  for (let i = text.startsWith("---") ? 0 : text.indexOf("\n---"); i >= 0; i = text.indexOf("\n---", i + 1)) {
    const marker = text.charCodeAt(i) === 10 ? i + 1 : i;
    const after = text.charCodeAt(marker + 3);
    if (!(marker + 3 === text.length || after === 32 || after === 9 || after === 10 || after === 13)) continue;
    if (marker > from) pieces.push(text.slice(from, marker));
    from = marker;
  }
  pieces.push(text.slice(from));
  if (pieces.length > 1 && !pieces[0].startsWith("---") && onlyCommentsAndBlanks(pieces[0].replace(/^\uFEFF/, ""))) pieces.shift();
  return pieces;
}

/**
 * Whether every line is blank or a comment. Line by line, not one regular expression over the
 * text: an expression like /^(?:\s|#.*)*$/ can split a run of "#" in exponentially many ways
 * before it fails, and a "####" banner above the first document took seconds.
 */
function onlyCommentsAndBlanks(text: string): boolean {
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) lineStart = true;
    else if (!lineStart || c === 32 || c === 9 || c === 13) continue;
    else if (c === 35) lineStart = false; // "#": a comment, to the end of the line
    else return false;
  }
  return true;
}

/**
 * Hands the stream's documents, in order, to a visitor made by `start`. Well-formed streams go
 * through js-yaml a document at a time (see documentTexts), each visited as soon as it is
 * parsed: js-yaml's own loadAll parses the whole stream before it hands over the first
 * document, so every document's raw values lived (and were copied by the garbage collector)
 * until the last was read — a third of the scavenges' time on 10,000 Services, ~2 % of
 * `svcsim rules`. If js-yaml refuses the stream, or a document's aliases expand too far,
 * `start` is called again for a fresh visitor and the careful path (yaml) reads the stream
 * from the top, reporting the error with its line. A document the visitor refuses (an
 * InputError) stands as the error unless the stream further on is not well-formed YAML: then
 * the syntax error is reported, as if the whole stream had been parsed first.
 */
export function visitYamlStream(text: string, file: string, limits: ReadLimits, start: () => (doc: SourceDocument) => void): void {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxAliasCount = limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT;
  const maxDocuments = limits.maxDocuments ?? DEFAULT_MAX_DOCUMENTS;
  // Characters are at most as many as bytes, so this check never lets more bytes through.
  if (text.length > maxBytes || Buffer.byteLength(text, "utf8") > maxBytes) {
    throw new InputError("the scenario file is too large", {
      file,
      expected: `at most ${maxBytes} bytes`,
      found: `${Buffer.byteLength(text, "utf8")} bytes`,
    });
  }
  checkNesting(text, file);
  // Counted before parsing, so that a stream of empty documents costs no parse at all.
  let markers = text.startsWith("---") ? 1 : 0;
  for (let i = text.indexOf("\n---"); i >= 0; i = text.indexOf("\n---", i + 4)) markers++;
  if (markers > maxDocuments) {
    throw new InputError("too many YAML documents", { file, expected: `at most ${maxDocuments} documents`, found: `${markers} document markers` });
  }
  // Lines are wanted only for an error message: parse with positions then, once.
  const careful = new CarefulRead(text, file, maxAliasCount, maxDocuments);
  // Aliases need anchors (`&name`); a stream without a single `&` has none to expand.
  const anchors = text.includes("&");
  const visit = start();
  let index = 0;
  let refused: unknown;
  try {
    const onDocument = (value: unknown) => {
      const i = index++;
      if (index > maxDocuments) {
        refused = new InputError("too many YAML documents", { file, expected: `at most ${maxDocuments} documents`, found: `more than ${maxDocuments}` });
        throw refused;
      }
      if (anchors && aliasesExpandTooMuch(value, maxAliasCount)) throw new UseCarefulPath();
      try {
        visit({ index: i + 1, value: stripNullsInPlace(value), lineOf: lineFinder(careful, i) });
      } catch (err) {
        refused = err;
        throw err;
      }
    };
    // YAML 1.2's core schema, as the yaml package reads: no timestamps, no merge keys.
    const options = { schema: jsyaml.CORE_SCHEMA };
    const pieces = documentTexts(text);
    if (pieces === undefined) jsyaml.loadAll(text, onDocument, options);
    else for (const piece of pieces) jsyaml.loadAll(piece, onDocument, options);
    return;
  } catch (e) {
    // What the visitor (or the document count) refused stands, unless it is bad input and the
    // stream is not well-formed further on. Anything js-yaml refuses goes to the careful path.
    if (e === refused && (!(e instanceof InputError) || wellFormed(text, maxAliasCount))) throw e;
  }
  const again = start();
  for (const doc of careful.documents()) again(doc);
}

/** The careful parse of a stream, done once, and only if a line is asked for. */
class CarefulRead {
  private docs: SourceDocument[] | undefined;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly maxAliasCount: number,
    private readonly maxDocuments: number,
  ) {}

  documents(): SourceDocument[] {
    return (this.docs ??= carefulRead(this.text, this.file, this.maxAliasCount, this.maxDocuments));
  }
}

/**
 * Document i's line finder. Made here, not inline in visitYamlStream: a closure keeps its whole
 * enclosing scope alive, and every object read from the document keeps its line finder, so an
 * inline one kept the visitor (and the reader behind it, with its index of every name) for as
 * long as the scenario lived.
 */
function lineFinder(careful: CarefulRead, i: number): (path: readonly PathSegment[]) => number | undefined {
  return (path) => careful.documents()[i]?.lineOf(path);
}

/** Whether js-yaml reads the whole stream, aliases within bounds (the fast path would have). */
function wellFormed(text: string, maxAliasCount: number): boolean {
  try {
    const anchors = text.includes("&");
    let ok = true;
    jsyaml.loadAll(text, (value: unknown) => {
      if (anchors && aliasesExpandTooMuch(value, maxAliasCount)) ok = false;
    }, { schema: jsyaml.CORE_SCHEMA });
    return ok;
  } catch {
    return false;
  }
}

/** yaml's parse with source positions: precise errors, and the line of any field. */
function carefulRead(text: string, file: string, maxAliasCount: number, maxDocuments: number): SourceDocument[] {
  const { isNode, LineCounter, parseAllDocuments } = yamlLib();
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (e) {
    if (isStackOverflow(e)) {
      throw new InputError("the YAML is nested too deeply", { file, expected: "a reasonably nested YAML document" });
    }
    throw e;
  }
  if (docs.length > maxDocuments) {
    throw new InputError("too many YAML documents", { file, expected: `at most ${maxDocuments} documents`, found: String(docs.length) });
  }
  const out: SourceDocument[] = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const first = doc.errors[0];
    if (first) {
      const line = first.linePos?.[0].line;
      const col = first.linePos?.[0].col;
      const firstLine = first.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      throw new InputError(`YAML syntax error${line !== undefined ? ` at line ${line}, column ${col}` : ""}: ${firstLine}`, {
        file,
        document: `document ${index}`,
        expected: "valid YAML",
      });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (e) {
      if (e instanceof ReferenceError || (e instanceof Error && /alias/i.test(e.message))) {
        throw new InputError(`YAML aliases expand too much (${e.message.replace(/\.$/, "")})`, {
          file,
          document: `document ${index}`,
          expected: `at most ${maxAliasCount} alias expansions in a document`,
        });
      }
      if (isStackOverflow(e)) {
        throw new InputError("the YAML is nested too deeply", { file, document: `document ${index}`, expected: "a reasonably nested YAML document" });
      }
      throw e;
    }
    const lineOf = (path: readonly PathSegment[]): number | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    };
    out.push({ index, value: stripNulls(value), lineOf });
  });
  return out;
}
