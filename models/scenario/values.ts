/**
 * Checks of the value languages a scenario uses inside strings: distributions and arrival
 * processes. The grammar belongs to sim/distributions.ts; this file only asks it whether a text
 * is valid, so that a bad distribution is reported at load time with its field path.
 *
 * STAND-IN: until sim/distributions.ts exports parseDistribution/parseArrival, a small local
 * check of the same grammar (DESIGN.md) is used. Replace the two bodies by calls to those
 * functions when they land.
 */
import { InputError } from "../../sim/errors.js";
import { parseDuration } from "../../sim/time.js";

const DISTRIBUTION_EXPECTED =
  "a distribution like exp(2ms), const(1ms), uniform(1ms,3ms), lognormal(mean=2ms,cv=1.5), pareto(scale=1ms,shape=2)";
const ARRIVAL_EXPECTED = "an arrival process like poisson(500/s) or const(100/s)";

const KNOWN_DISTRIBUTIONS: Record<string, { args: number[]; keys?: string[] }> = {
  const: { args: [1] },
  exp: { args: [1] },
  uniform: { args: [2] },
  normal: { args: [2], keys: ["mean", "sd", "cv"] },
  lognormal: { args: [2], keys: ["mean", "cv", "median", "sigma", "mu", "sd"] },
  pareto: { args: [2], keys: ["scale", "shape", "mean", "alpha"] },
  erlang: { args: [2], keys: ["mean", "k"] },
  gamma: { args: [2], keys: ["mean", "cv", "shape", "scale"] },
  weibull: { args: [2], keys: ["scale", "shape"] },
  empirical: { args: [] },
};

function isDurationOrNumber(text: string): boolean {
  if (/^\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return true;
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** Validates a distribution's text; returns it trimmed. Throws InputError. */
export function checkDistribution(text: unknown, fieldPath?: string): string {
  const fail = (why: string): InputError =>
    new InputError(why, { fieldPath, expected: DISTRIBUTION_EXPECTED, found: typeof text === "string" ? JSON.stringify(text) : String(text) });
  if (typeof text !== "string") throw fail("not a distribution");
  const s = text.trim();
  const m = /^([a-z]+)\((.*)\)$/.exec(s);
  if (!m) throw fail("not a distribution");
  const kind = KNOWN_DISTRIBUTIONS[m[1]];
  if (!kind) throw fail(`unknown distribution ${m[1]}`);
  const args = m[2].split(",").map((a) => a.trim());
  if (args.some((a) => a === "")) throw fail("empty argument");
  for (const arg of args) {
    const kv = /^([a-z]+)=(.+)$/.exec(arg);
    if (kv) {
      if (!kind.keys || !kind.keys.includes(kv[1])) throw fail(`unknown parameter ${kv[1]}`);
      if (!isDurationOrNumber(kv[2])) throw fail(`bad value ${kv[2]}`);
    } else if (!isDurationOrNumber(arg)) {
      throw fail(`bad argument ${arg}`);
    }
  }
  if (kind.args.length > 0 && !kind.args.includes(args.length)) throw fail(`${m[1]} takes ${kind.args.join(" or ")} arguments`);
  return s;
}

/** Validates an arrival process's text; returns it trimmed. Throws InputError. */
export function checkArrival(text: unknown, fieldPath?: string): string {
  const fail = (why: string): InputError =>
    new InputError(why, { fieldPath, expected: ARRIVAL_EXPECTED, found: typeof text === "string" ? JSON.stringify(text) : String(text) });
  if (typeof text !== "string") throw fail("not an arrival process");
  const s = text.trim();
  const m = /^(poisson|const|constant|deterministic)\((\d+(?:\.\d+)?)\/(s|ms|m|min|h)\)$/.exec(s);
  if (!m) throw fail("not an arrival process");
  if (Number(m[2]) <= 0) throw fail("the rate must be positive");
  return s;
}
