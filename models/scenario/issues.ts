/**
 * Turns a failed schema parse into one InputError: the first issue, its field path in the
 * document (`spec.ports[0].port`), its line, what was expected and what was found.
 */
import type { z } from "zod";
import { InputError, showValue } from "../../sim/errors.js";
import type { PathSegment } from "./yamlStream.js";

/** `spec.ports[0].port`; keys that are not identifiers are quoted: `annotations["svcsim.dev/x"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  record: "a mapping",
};

/**
 * The per-parse error map: an "expected" text for issues whose schema gave none. Schema-level
 * errors (schemas.ts) take precedence over it.
 */
export function expectedText(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case "invalid_type":
      return TYPE_NAMES[iss.expected] ?? `a ${iss.expected}`;
    case "invalid_value":
      return iss.values.length === 1 ? showValue(iss.values[0]) : `one of ${iss.values.map((v) => String(v)).join(", ")}`;
    case "too_big":
      return iss.origin === "array" ? `at most ${iss.maximum} items` : iss.origin === "string" ? `at most ${iss.maximum} characters` : `at most ${iss.maximum}`;
    case "too_small":
      return iss.origin === "array" ? `at least ${iss.minimum} items` : iss.origin === "string" ? `at least ${iss.minimum} characters` : `at least ${iss.minimum}`;
    case "unrecognized_keys":
      return "only known fields";
    case "invalid_format":
      return iss.format === "regex" ? `text matching ${String(iss.pattern)}` : `a valid ${iss.format}`;
    case "invalid_union":
      return "one of the allowed forms";
    default:
      return "a valid value";
  }
}

export interface IssueContext {
  file: string;
  document: string;
  /** Where the parsed value sits in its document (e.g. ["items", 3] or ["spec", "nodes"]). */
  pathPrefix: readonly PathSegment[];
  lineOf?: (path: readonly PathSegment[]) => number | undefined;
}

export function issueToInputError(error: z.ZodError, input: unknown, ctx: IssueContext): InputError {
  const iss = error.issues[0];
  let path: PathSegment[] = iss.path.filter((p): p is PathSegment => typeof p === "string" || typeof p === "number");
  let message: string;
  let expected = iss.message;
  let found: string;
  if (iss.code === "unrecognized_keys") {
    path = [...path, iss.keys[0]];
    message = `unknown field ${JSON.stringify(iss.keys[0])}`;
    expected = "only the fields svcsim knows (check the spelling)";
    found = showValue(iss.keys[0]);
  } else {
    const v = valueAt(input, path);
    message = v === undefined ? "missing field" : "invalid value";
    found = showValue(v);
  }
  const full = [...ctx.pathPrefix, ...path];
  const line = ctx.lineOf?.(full);
  if (line !== undefined) message += ` at line ${line}`;
  // A value parser's own explanation (duration, distribution), kept from its InputError.
  const why = iss.code === "custom" ? (iss.params as { why?: unknown } | undefined)?.why : undefined;
  if (typeof why === "string" && why !== "") message += `: ${why}`;
  return new InputError(message, {
    file: ctx.file,
    document: ctx.document,
    fieldPath: formatPath(full),
    expected,
    found,
  });
}

/** Parses `input` with `schema`, or throws the first issue as an InputError. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, ctx: IssueContext): z.output<T> {
  const r = schema.safeParse(input, { error: (iss) => expectedText(iss) });
  if (r.success) return r.data;
  throw issueToInputError(r.error, input, ctx);
}
