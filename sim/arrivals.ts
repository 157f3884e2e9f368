/**
 * Arrival processes of requests or connections, and their text forms:
 * `poisson(500/s)`, `const(200/s)`, `onoff(rate=1000/s,on=1s,off=4s)`.
 */
import { InputError } from "./errors.js";
import type { Rng } from "./random.js";
import { NS_PER_HOUR, NS_PER_MIN, NS_PER_MS, NS_PER_S, NS_PER_US, formatDuration, parseDuration } from "./time.js";
import type { Nanos } from "./time.js";

interface ArrivalBase {
  /** Long-run average arrivals per second. */
  readonly ratePerSecond: number;
  readonly text: string;
  /** Time from one arrival to the next, in ns (not rounded; the engine rounds). */
  nextGap(rng: Rng): Nanos;
  /**
   * Time from an arbitrary start (time 0) to the first arrival, with the process in
   * equilibrium: what to schedule first, so that a client does not start with an arrival at 0.
   */
  firstGap(rng: Rng): Nanos;
}

/** Exponential gaps: the superposition of many independent users. */
export class PoissonArrivals implements ArrivalBase {
  readonly kind = "poisson" as const;
  private readonly meanGap: number;
  constructor(readonly ratePerSecond: number) {
    checkRate(ratePerSecond);
    this.meanGap = NS_PER_S / ratePerSecond;
  }
  get text(): string {
    return `poisson(${formatRate(this.ratePerSecond)})`;
  }
  nextGap(rng: Rng): Nanos {
    return -this.meanGap * Math.log(1 - rng.next());
  }
  firstGap(rng: Rng): Nanos {
    return this.nextGap(rng); // memoryless
  }
}

/** Evenly spaced arrivals: a timer, a load generator at a fixed rate. */
export class ConstantArrivals implements ArrivalBase {
  readonly kind = "const" as const;
  readonly period: Nanos;
  constructor(readonly ratePerSecond: number) {
    checkRate(ratePerSecond);
    this.period = NS_PER_S / ratePerSecond;
  }
  get text(): string {
    return `const(${formatRate(this.ratePerSecond)})`;
  }
  nextGap(_rng?: Rng): Nanos {
    return this.period;
  }
  /** A uniformly random phase in (0, period], so that several such clients do not fire in lockstep. */
  firstGap(rng: Rng): Nanos {
    return (1 - rng.next()) * this.period;
  }
}

/**
 * Bursty traffic: Poisson arrivals at `onRatePerSecond` during on periods, none during off
 * periods; on and off periods are exponentially distributed with means `on` and `off` (an
 * interrupted Poisson process). Its gaps are then independent (hyperexponential), so drawing
 * one needs no state: after an arrival the source is on, and exponential periods forget.
 */
export class OnOffArrivals implements ArrivalBase {
  readonly kind = "onoff" as const;
  readonly ratePerSecond: number;
  private readonly meanGapOn: number;
  constructor(
    readonly onRatePerSecond: number,
    readonly on: Nanos,
    readonly off: Nanos,
  ) {
    checkRate(onRatePerSecond);
    if (!(on > 0) || !Number.isFinite(on)) {
      throw new InputError("onoff: the on period must be positive", { expected: "on > 0", found: `on=${formatDuration(on)}` });
    }
    if (!(off >= 0) || !Number.isFinite(off)) {
      throw new InputError("onoff: the off period must not be negative", { expected: "off >= 0", found: `off=${formatDuration(off)}` });
    }
    this.meanGapOn = NS_PER_S / onRatePerSecond;
    this.ratePerSecond = (onRatePerSecond * on) / (on + off);
  }
  get text(): string {
    return `onoff(rate=${formatRate(this.onRatePerSecond)},on=${formatDuration(this.on)},off=${formatDuration(this.off)})`;
  }
  nextGap(rng: Rng): Nanos {
    let gap = 0;
    for (;;) {
      const arrival = -this.meanGapOn * Math.log(1 - rng.next());
      const onLeft = -this.on * Math.log(1 - rng.next());
      if (arrival <= onLeft) return gap + arrival;
      gap += onLeft - this.off * Math.log(1 - rng.next());
    }
  }
  firstGap(rng: Rng): Nanos {
    // In equilibrium the source is off with probability off/(on+off); then it waits the
    // (memoryless) rest of the off period first.
    const offFirst = rng.next() * (this.on + this.off) < this.off;
    const wait = offFirst ? -this.off * Math.log(1 - rng.next()) : 0;
    return wait + this.nextGap(rng);
  }
}

export type ArrivalProcess = PoissonArrivals | ConstantArrivals | OnOffArrivals;

function checkRate(rate: number): void {
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new InputError("the rate must be positive", { expected: "a positive rate like 500/s", found: String(rate) });
  }
}

const RATE_UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: NS_PER_US,
  "µs": NS_PER_US,
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: NS_PER_MIN,
  min: NS_PER_MIN,
  h: NS_PER_HOUR,
};

export const RATE_EXPECTED = "a rate like 500/s, 2/ms, 30/m";

/** Reads `500/s`, `2.5/ms`, `30/m`, `100/h` (also `/us`, `/ns`) as arrivals per second. */
export function parseRate(text: string, fieldPath?: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*\/\s*(ns|us|µs|ms|s|min|m|h)\s*$/i.exec(String(text));
  if (m === null) {
    throw new InputError("not a rate", { fieldPath, expected: RATE_EXPECTED, found: text === "" ? '""' : String(text) });
  }
  const count = Number(m[2] === undefined ? m[1] : `${m[1]}e${m[2]}`);
  const rate = (count * NS_PER_S) / RATE_UNITS[m[3].toLowerCase()];
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new InputError("the rate must be positive", { fieldPath, expected: "a positive rate like 500/s", found: String(text) });
  }
  return rate;
}

/** Per second, or per minute/hour when that reads as a whole number and per second does not. */
function formatRate(perSecond: number): string {
  if (!Number.isInteger(perSecond)) {
    const perMinute = perSecond * 60;
    if (Number.isInteger(perMinute)) return `${perMinute}/m`;
    const perHour = perSecond * 3600;
    if (Number.isInteger(perHour)) return `${perHour}/h`;
  }
  return `${perSecond}/s`;
}

const ARRIVAL_EXPECTED = "an arrival process like poisson(500/s), const(200/s), onoff(rate=1000/s,on=1s,off=4s)";

/**
 * Reads an arrival process. `poisson(R)` and `const(R)` take a rate (`R` or `rate=R`);
 * `onoff(rate=R,on=D,off=D)` takes the rate while on and the mean on and off periods.
 */
export function parseArrival(text: string, fieldPath?: string): ArrivalProcess {
  const found = typeof text === "string" ? (text === "" ? '""' : text) : String(text);
  const m = typeof text === "string" ? /^\s*([A-Za-z]+)\s*\(([^()]*)\)\s*$/.exec(text) : null;
  if (m === null) throw new InputError("not an arrival process", { fieldPath, expected: ARRIVAL_EXPECTED, found });
  const name = m[1].toLowerCase();
  const args = m[2].trim() === "" ? [] : m[2].split(",").map((a) => a.trim());
  const named = new Map<string, string>();
  const positional: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq < 0) positional.push(arg);
    else {
      const key = arg.slice(0, eq).trim().toLowerCase();
      if (named.has(key)) throw new InputError(`${name}: ${key} given twice in "${text.trim()}"`, { fieldPath, expected: `${key} once`, found: arg });
      named.set(key, arg.slice(eq + 1).trim());
    }
  }
  const paramError = (message: string, expected: string, foundPart: string): InputError =>
    new InputError(`${name}: ${message} in "${text.trim()}"`, { fieldPath, expected, found: foundPart });
  const take = (key: string, index: number): string => {
    const byName = named.get(key);
    const byPos = positional[index];
    if (byName !== undefined && byPos !== undefined) throw paramError(`${key} given twice`, `${key} once`, found);
    const raw = byName ?? byPos;
    if (raw === undefined) throw paramError(`missing ${key}`, `${key}=…`, found);
    named.delete(key);
    return raw;
  };
  const rateOf = (raw: string): number => {
    try {
      return parseRate(raw);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw paramError(e.message, e.expected ?? RATE_EXPECTED, raw);
    }
  };
  const durationOf = (key: string, raw: string): Nanos => {
    try {
      return parseDuration(raw);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw paramError(`${key} must be a duration`, `${key} a duration like 1s, 500ms`, `${key}=${raw}`);
    }
  };
  const rejectLeftovers = (maxPositional: number, allowed: string): void => {
    if (positional.length > maxPositional) throw paramError("too many arguments", allowed, positional.slice(maxPositional).join(","));
    for (const key of named.keys()) throw paramError(`unknown parameter "${key}"`, allowed, key);
  };
  // Constructors check the values; their errors get the text and the field path here.
  const build = (make: () => ArrivalProcess): ArrivalProcess => {
    try {
      return make();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw paramError(e.message.replace(/^onoff: /, ""), e.expected ?? ARRIVAL_EXPECTED, e.found ?? found);
    }
  };
  switch (name) {
    case "poisson":
    case "const": {
      const rate = rateOf(take("rate", 0));
      rejectLeftovers(1, `${name}(rate)`);
      return build(() => (name === "poisson" ? new PoissonArrivals(rate) : new ConstantArrivals(rate)));
    }
    case "onoff": {
      const rate = rateOf(take("rate", 0));
      const on = durationOf("on", take("on", 1));
      const off = durationOf("off", take("off", 2));
      rejectLeftovers(3, "onoff(rate, on, off)");
      return build(() => new OnOffArrivals(rate, on, off));
    }
    default:
      throw new InputError(`unknown arrival process "${m[1]}"`, { fieldPath, expected: "poisson, const or onoff", found });
  }
}
