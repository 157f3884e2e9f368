/** Where a value sits while a document is being read, and errors that say so. */
import { InputError, showValue } from "../../sim/errors.js";
import type { ObjectOrigin } from "./types.js";
import { formatPath } from "./issues.js";
import type { IssueContext } from "./issues.js";
import type { PathSegment } from "./yamlStream.js";

export interface DocContext extends IssueContext {
  /** Warnings go here (shared by the whole scenario). */
  warnings: string[];
}

/**
 * An object's origin. Its line is found only if someone asks (an error message): finding it may
 * mean parsing the stream again with positions. So `line` is a getter on the prototype, reading
 * the document's line finder and the object's path from private fields, not a getter closure
 * defined on each origin: that kept a closure, its context and an accessor alive per object
 * (20,000 of each for 10,000 Services, 3 % of `svcsim rules`' time in the collector), and made
 * a spread or a JSON of an origin parse the whole stream again.
 */
class SourceOrigin implements ObjectOrigin {
  readonly #lineOf: ((path: readonly PathSegment[]) => number | undefined) | undefined;
  readonly #path: readonly PathSegment[];

  constructor(
    public file: string,
    public document: string,
    public pathPrefix: string,
    lineOf: ((path: readonly PathSegment[]) => number | undefined) | undefined,
    path: readonly PathSegment[],
  ) {
    this.#lineOf = lineOf;
    this.#path = path;
  }

  get line(): number | undefined {
    return this.#lineOf?.(this.#path);
  }
}

export function originOf(ctx: DocContext): ObjectOrigin {
  return new SourceOrigin(ctx.file, ctx.document, formatPath(ctx.pathPrefix), ctx.lineOf, ctx.pathPrefix);
}

/** An InputError at `path` (relative to the object) in this document. */
export function fieldError(
  ctx: IssueContext,
  path: readonly PathSegment[],
  message: string,
  expected: string,
  found?: unknown,
): InputError {
  const full = [...ctx.pathPrefix, ...path];
  const line = ctx.lineOf?.(full);
  return new InputError(line !== undefined ? `${message} at line ${line}` : message, {
    file: ctx.file,
    document: ctx.document,
    fieldPath: formatPath(full),
    expected,
    found: arguments.length >= 5 ? showValue(found) : undefined,
  });
}

/** An InputError about an object known only by its origin (used after loading, e.g. allocation). */
export function originError(origin: ObjectOrigin, fieldPath: string, message: string, expected: string, found?: unknown): InputError {
  const full = origin.pathPrefix && fieldPath ? `${origin.pathPrefix}.${fieldPath}` : origin.pathPrefix || fieldPath;
  return new InputError(message, {
    file: origin.file,
    document: origin.document,
    fieldPath: full,
    expected,
    found: arguments.length >= 5 ? showValue(found) : undefined,
  });
}
