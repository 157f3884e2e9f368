/**
 * Bad input, as opposed to a fault of ours. The CLI prints it as one line and exits with
 * status 2; everything else is an internal fault (status 1).
 *
 * Parsers deep down know the field and what they expected; the layers above add where the
 * value came from (file, document) with `withContext`.
 */
export class InputError extends Error {
  readonly file: string | undefined;
  /** e.g. "document 3 (Service/web)" */
  readonly document: string | undefined;
  /** e.g. "spec.ports[0].nodePort" */
  readonly fieldPath: string | undefined;
  readonly expected: string | undefined;
  readonly found: string | undefined;

  constructor(
    message: string,
    details: { file?: string; document?: string; fieldPath?: string; expected?: string; found?: string } = {},
  ) {
    super(message);
    this.name = "InputError";
    this.file = details.file;
    this.document = details.document;
    this.fieldPath = details.fieldPath;
    this.expected = details.expected;
    this.found = details.found;
  }

  /** A copy with the outer context filled where this one has none; a field path is prefixed. */
  withContext(ctx: { file?: string; document?: string; fieldPath?: string }): InputError {
    const fieldPath =
      ctx.fieldPath && this.fieldPath ? `${ctx.fieldPath}.${this.fieldPath}` : (this.fieldPath ?? ctx.fieldPath);
    return new InputError(this.message, {
      file: this.file ?? ctx.file,
      document: this.document ?? ctx.document,
      fieldPath,
      expected: this.expected,
      found: this.found,
    });
  }

  /** One line: `file: document 2 (Service/web): spec.ports[0].port: expected 1-65535, found 70000` */
  format(): string {
    const where = [this.file, this.document, this.fieldPath].filter((s) => s !== undefined && s !== "");
    let text = where.length > 0 ? `${where.join(": ")}: ${this.message}` : this.message;
    if (this.expected !== undefined || this.found !== undefined) {
      const parts: string[] = [];
      if (this.expected !== undefined) parts.push(`expected ${this.expected}`);
      if (this.found !== undefined) parts.push(`found ${this.found}`);
      text += ` (${parts.join(", ")})`;
    }
    return text.replace(/\s*\n\s*/g, " ");
  }
}

/** Shows a found value compactly in an error message. */
export function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
