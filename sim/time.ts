import { InputError } from "./errors.js";

/**
 * Simulated time: integer nanoseconds held in a number. A double holds every integer exactly up
 * to 2^53 ns, about 104 days of simulated time, far beyond any study's horizon.
 */
export type Nanos = number;

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;
export const NS_PER_MIN = 60 * NS_PER_S;
export const NS_PER_HOUR = 60 * NS_PER_MIN;

/** The largest time that is still an exact integer number of nanoseconds (about 104 days). */
export const MAX_NANOS: Nanos = Number.MAX_SAFE_INTEGER;

export function toSeconds(ns: Nanos): number {
  return ns / NS_PER_S;
}

/** Seconds to nanoseconds, rounded to the nearest integer nanosecond. */
export function fromSeconds(s: number): Nanos {
  return Math.round(s * NS_PER_S);
}

const UNIT_NANOS: Readonly<Record<string, number>> = {
  ns: 1,
  us: NS_PER_US,
  "µs": NS_PER_US, // U+00B5 micro sign, as Go writes it
  "μs": NS_PER_US, // U+03BC Greek mu
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: NS_PER_MIN,
  h: NS_PER_HOUR,
};

/** One `<decimal><unit>` component; units are matched longest first so `ms` is not `m` + `s`. */
const COMPONENT = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export const DURATION_EXPECTED = "a duration like 250us, 2ms, 1.5s, 5m";

function durationError(text: string, fieldPath: string | undefined, why: string): InputError {
  return new InputError(why, {
    fieldPath,
    expected: DURATION_EXPECTED,
    found: text === "" ? '""' : text,
  });
}

/**
 * Reads a duration: `250ns`, `250us` (or `µs`), `2ms`, `1.5s`, `5m`, `1h`, `0`, and Go-style
 * compounds such as `1m30s` or `1h2m3.5s`. Surrounding whitespace is ignored. The result is
 * rounded to the nearest integer nanosecond. Negative, non-finite or unit-less values (but for
 * `0`) are rejected with an InputError, as is anything beyond 104 days (not exact in a double).
 */
export function parseDuration(text: string, fieldPath?: string): Nanos {
  const value: unknown = text;
  if (typeof value !== "string") {
    // A YAML number can reach us despite the type; only 0 is unambiguous without a unit.
    if (value === 0) return 0;
    throw durationError(String(value), fieldPath, "a duration needs a unit");
  }
  const s = text.trim();
  if (s === "") throw durationError(text, fieldPath, "empty duration");
  if (/^[+]?0*(\.0*)?$/.test(s) && /\d/.test(s)) return 0;
  if (s.startsWith("-")) throw durationError(text, fieldPath, "a duration cannot be negative");
  const body = s.startsWith("+") ? s.slice(1) : s;
  let total = 0;
  let pos = 0;
  COMPONENT.lastIndex = 0;
  while (pos < body.length) {
    COMPONENT.lastIndex = pos;
    const m = COMPONENT.exec(body);
    if (m === null) {
      const why = /^[\d.]+$/.test(body) ? "a duration needs a unit (ns, us, ms, s, m, h)" : "not a duration";
      throw durationError(text, fieldPath, why);
    }
    total += Number(m[1]) * UNIT_NANOS[m[2]];
    pos = COMPONENT.lastIndex;
  }
  if (!Number.isFinite(total)) throw durationError(text, fieldPath, "the duration is not finite");
  const ns = Math.round(total);
  if (ns > MAX_NANOS) throw durationError(text, fieldPath, "the duration is longer than 104 days");
  return ns;
}

/** `whole` units and the remainder as a trimmed decimal fraction, exactly (integer arithmetic). */
function decimal(ns: number, unit: number, digits: number): string {
  const whole = Math.floor(ns / unit);
  const rest = ns - whole * unit;
  if (rest === 0) return String(whole);
  const frac = String(rest).padStart(digits, "0").replace(/0+$/, "");
  return `${whole}.${frac}`;
}

/**
 * Formats a duration in the form parseDuration reads back exactly: `0`, `250ns`, `12.5us`,
 * `2ms`, `1.5s`, `5m`, `1m30s`, `2h0m5s`. Non-integer input is rounded to the nearest
 * nanosecond; non-finite or negative input is written as a plain number prefixed by the sign
 * (it is not a valid duration, but this is for messages, so it must not throw).
 */
export function formatDuration(ns: Nanos): string {
  if (!Number.isFinite(ns)) return `${ns}ns`;
  if (ns < 0) return `-${formatDuration(-ns)}`;
  const n = Math.round(ns);
  if (n === 0) return "0";
  if (n < NS_PER_US) return `${n}ns`;
  if (n < NS_PER_MS) return `${decimal(n, NS_PER_US, 3)}us`;
  if (n < NS_PER_S) return `${decimal(n, NS_PER_MS, 6)}ms`;
  if (n < NS_PER_MIN) return `${decimal(n, NS_PER_S, 9)}s`;
  const hours = Math.floor(n / NS_PER_HOUR);
  const minutes = Math.floor((n - hours * NS_PER_HOUR) / NS_PER_MIN);
  const restNs = n - hours * NS_PER_HOUR - minutes * NS_PER_MIN;
  let out = "";
  if (hours > 0) out += `${hours}h`;
  if (minutes > 0 || (hours > 0 && restNs > 0)) out += `${minutes}m`;
  if (restNs > 0) out += `${decimal(restNs, NS_PER_S, 9)}s`;
  return out;
}
