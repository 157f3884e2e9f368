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

export function originOf(ctx: DocContext): ObjectOrigin {
  const origin: ObjectOrigin = { file: ctx.file, document: ctx.document, pathPrefix: formatPath(ctx.pathPrefix) };
  // The line is found only if someone asks (an error message): finding it may mean parsing the
  // stream again with positions.
  const lineOf = ctx.lineOf;
  const prefix = ctx.pathPrefix;
  if (lineOf) Object.defineProperty(origin, "line", { enumerable: true, configurable: true, get: () => lineOf(prefix) });
  return origin;
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
