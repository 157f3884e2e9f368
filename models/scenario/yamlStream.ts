/**
 * Reads a YAML stream into plain values, with bounded work on hostile input: a size cap before
 * parsing, yaml's alias-expansion cap (billion laughs), a document-count cap, and stack
 * exhaustion on absurd nesting turned into an InputError. Keeps each document's parse tree to
 * give the line of a field in error messages.
 */
import { isNode, LineCounter, parseAllDocuments } from "yaml";
import type { Document } from "yaml";
import { InputError } from "../../sim/errors.js";

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
 */
export function checkNesting(text: string, file: string, max = MAX_NESTING): void {
  let flow = 0;
  let line = 1;
  let lineStart = true;
  let indent = 0;
  let markers = 0;
  const fail = (what: string) =>
    new InputError(`the YAML is nested too deeply (${what} at line ${line})`, {
      file,
      expected: `at most ${max} levels of nesting`,
      found: "more",
    });
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = true;
      indent = 0;
      markers = 0;
      continue;
    }
    if (lineStart) {
      if (c === 32) {
        indent++;
        if (indent > max) throw fail("indentation");
        continue;
      }
      // Compact block nesting on one line: "- - - x" or "? ? x".
      if ((c === 45 || c === 63) && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 10)) {
        markers++;
        if (indent + markers * 2 > max * 2) throw fail("block nesting");
        i++;
        continue;
      }
      lineStart = false;
    }
    if (c === 91 || c === 123) {
      flow++;
      if (flow > max) throw fail("brackets");
    } else if ((c === 93 || c === 125) && flow > 0) flow--;
  }
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

export function readYamlStream(text: string, file: string, limits: ReadLimits = {}): SourceDocument[] {
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
