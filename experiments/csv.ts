/**
 * The result CSV of DESIGN.md: tidy long format, one measured value a row, written with
 * fast-csv to a temporary file that is renamed into place only when complete (so a crash or
 * Ctrl-C never leaves a half-written result), and read back for merges.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseString, writeToBuffer } from "fast-csv";

export type CsvRow = Record<string, string>;

/**
 * A number as a plain decimal that reads back to the same double: the shortest round-trip
 * digits of `String(x)`, with any exponent expanded (pandas and R read `1.5e-7` too, but
 * DESIGN.md promises plain decimals, and spreadsheets mangle exponents).
 */
export function formatDecimal(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Inf" : "-Inf";
  if (Object.is(x, -0)) return "0";
  const s = String(x);
  const e = s.indexOf("e");
  if (e < 0) return s;
  const negative = s.startsWith("-");
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  const pointAt = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (pointAt <= 0) out = `0.${"0".repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) out = digits + "0".repeat(pointAt - digits.length);
  else out = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return negative ? `-${out}` : out;
}

/**
 * Writes rows (objects keyed by header) to `path` atomically. The text is made in memory, where
 * the rows already are, and written in one call: no file stream (loading Node's fs streams
 * alone costs a short command ~4 ms), and a row fast-csv refuses leaves no file behind.
 */
export async function writeCsvAtomic(path: string, headers: string[], rows: Iterable<CsvRow>): Promise<void> {
  const text = await writeToBuffer(Array.isArray(rows) ? rows : [...rows], { headers, includeEndRowDelimiter: true });
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Reads a CSV written by writeCsvAtomic (or any CSV with a header row), whole. */
export async function readCsv(path: string): Promise<{ headers: string[]; rows: CsvRow[] }> {
  return new Promise((resolve, reject) => {
    const rows: CsvRow[] = [];
    let headers: string[] = [];
    // A read error rejects the promise: the executor's throw does.
    parseString<CsvRow, CsvRow>(readFileSync(path, "utf8"), { headers: true })
      .on("headers", (h: string[]) => {
        headers = h;
      })
      .on("error", reject)
      .on("data", (row: CsvRow) => rows.push(row))
      .on("end", () => resolve({ headers, rows }));
  });
}
