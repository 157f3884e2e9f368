/**
 * Probability distributions of times (service times, delays, think times) and their text forms.
 *
 * Values are plain numbers; the parser reads times with units and yields nanoseconds, and
 * `text` renders time parameters as durations, so it assumes nanoseconds too.
 *
 * Where it is cheap, sampling is by inversion: one uniform draw per sample, monotone in the
 * draw. That keeps common random numbers aligned between configurations that differ only in a
 * distribution's parameters (a larger mean gives a larger sample for the same draw). Gamma
 * (rejection) and Erlang (k draws) are the exceptions.
 */
import { InputError } from "./errors.js";
import type { Rng } from "./random.js";
import { gammaFunction, normalCdf, normalPdf, normalQuantile } from "./special.js";
import { formatDuration, parseDuration } from "./time.js";

export interface Distribution {
  sample(rng: Rng): number;
  readonly mean: number;
  readonly variance: number;
  /** A text form parseDistribution reads back (time parameters as durations). */
  readonly text: string;
}

/** A draw in (0, 1): inversion needs both ends open (Φ⁻¹(0) = -∞, log(0) = -∞). */
function openUnit(rng: Rng): number {
  const u = rng.next();
  return u > 0 ? u : 2 ** -54;
}

function fmtTime(ns: number): string {
  return Number.isInteger(ns) ? formatDuration(ns) : `${ns}ns`;
}

function paramError(dist: string, message: string, expected: string, found: string): InputError {
  return new InputError(`${dist}: ${message}`, { expected, found });
}

function requireFinite(dist: string, name: string, value: number, min: number, inclusive: boolean, what: string): void {
  const ok = Number.isFinite(value) && (inclusive ? value >= min : value > min);
  if (!ok) throw paramError(dist, `${name} must be ${what}`, `${name} ${what}`, `${name}=${value}`);
}

export class Constant implements Distribution {
  readonly variance = 0;
  constructor(readonly value: number) {
    requireFinite("const", "value", value, 0, true, ">= 0");
  }
  get mean(): number {
    return this.value;
  }
  get text(): string {
    return `const(${fmtTime(this.value)})`;
  }
  sample(_rng?: Rng): number {
    return this.value;
  }
}

export class Exponential implements Distribution {
  readonly variance: number;
  constructor(readonly mean: number) {
    requireFinite("exp", "mean", mean, 0, true, ">= 0");
    this.variance = mean * mean;
  }
  get text(): string {
    return `exp(${fmtTime(this.mean)})`;
  }
  sample(rng: Rng): number {
    return -this.mean * Math.log(1 - rng.next());
  }
}

export class Uniform implements Distribution {
  readonly mean: number;
  readonly variance: number;
  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    requireFinite("uniform", "min", min, 0, true, ">= 0");
    requireFinite("uniform", "max", max, 0, true, ">= 0");
    if (max < min) throw paramError("uniform", "max must not be below min", "min <= max", `min=${fmtTime(min)},max=${fmtTime(max)}`);
    this.mean = (min + max) / 2;
    this.variance = ((max - min) * (max - min)) / 12;
  }
  get text(): string {
    return `uniform(${fmtTime(this.min)},${fmtTime(this.max)})`;
  }
  sample(rng: Rng): number {
    return this.min + (this.max - this.min) * rng.next();
  }
}

/**
 * Normal with the given mean and standard deviation of the underlying normal. With
 * `truncatedAtZero` (what the parser builds: times cannot be negative) it is conditioned on
 * x >= 0 — sampled exactly by inversion, not clamped — and `mean`/`variance` are those of the
 * truncated distribution, slightly above/below the parameters when sd is not small next to mean.
 */
export class Normal implements Distribution {
  readonly mean: number;
  readonly variance: number;
  /** Φ(mu/sd): the probability mass kept by the truncation. */
  private readonly kept: number;

  constructor(
    readonly mu: number,
    readonly sd: number,
    readonly truncatedAtZero = false,
  ) {
    requireFinite("normal", "sd", sd, 0, true, ">= 0");
    if (!Number.isFinite(mu)) throw paramError("normal", "mean must be finite", "a finite mean", `mean=${mu}`);
    if (truncatedAtZero && mu < 0) throw paramError("normal", "mean must be >= 0", "mean >= 0", `mean=${mu}`);
    if (truncatedAtZero && sd > 0) {
      const a = mu / sd;
      this.kept = normalCdf(a);
      const lambda = normalPdf(a) / this.kept; // inverse Mills ratio at -a
      this.mean = mu + sd * lambda;
      this.variance = sd * sd * (1 - a * lambda - lambda * lambda);
    } else {
      this.kept = 1;
      this.mean = mu;
      this.variance = sd * sd;
    }
  }

  get text(): string {
    return `normal(mean=${fmtTime(this.mu)},sd=${fmtTime(this.sd)})`;
  }

  sample(rng: Rng): number {
    const u = openUnit(rng);
    if (!this.truncatedAtZero || this.sd === 0) return this.mu + this.sd * normalQuantile(u);
    // Z conditioned on Z >= -mu/sd is -Φ⁻¹(Φ(mu/sd)·v), v uniform in (0, 1]: accurate even
    // when almost all the mass is cut (Φ(mu/sd) tiny), unlike Φ⁻¹ of a p close to 1.
    const x = this.mu - this.sd * normalQuantile(this.kept * u);
    return x > 0 ? x : 0;
  }
}

/** Lognormal by its mean and coefficient of variation (sd/mean) — the way people quote latencies. */
export class Lognormal implements Distribution {
  readonly variance: number;
  private readonly mu: number;
  private readonly sigma: number;
  constructor(
    readonly mean: number,
    readonly cv: number,
  ) {
    requireFinite("lognormal", "mean", mean, 0, false, "> 0");
    requireFinite("lognormal", "cv", cv, 0, true, ">= 0");
    const s2 = Math.log1p(cv * cv);
    this.sigma = Math.sqrt(s2);
    this.mu = Math.log(mean) - s2 / 2;
    this.variance = cv * mean * (cv * mean);
  }
  get text(): string {
    return `lognormal(mean=${fmtTime(this.mean)},cv=${this.cv})`;
  }
  sample(rng: Rng): number {
    return Math.exp(this.mu + this.sigma * normalQuantile(openUnit(rng)));
  }
}

/** Gamma by shape k and mean (scale = mean/k); Marsaglia–Tsang rejection sampling. */
export class Gamma implements Distribution {
  readonly variance: number;
  private readonly scale: number;
  private readonly d: number;
  private readonly c: number;
  constructor(
    readonly shape: number,
    readonly mean: number,
  ) {
    requireFinite("gamma", "shape", shape, 0, false, "> 0");
    requireFinite("gamma", "mean", mean, 0, true, ">= 0");
    this.scale = mean / shape;
    this.variance = shape * this.scale * this.scale;
    const a = shape < 1 ? shape + 1 : shape;
    this.d = a - 1 / 3;
    this.c = 1 / Math.sqrt(9 * this.d);
  }
  get text(): string {
    return `gamma(shape=${this.shape},mean=${fmtTime(this.mean)})`;
  }
  sample(rng: Rng): number {
    const d = this.d;
    const c = this.c;
    let x: number;
    for (;;) {
      const z = normalQuantile(openUnit(rng));
      let v = 1 + c * z;
      if (v <= 0) continue;
      v = v * v * v;
      const u = openUnit(rng);
      if (u < 1 - 0.0331 * z * z * z * z || Math.log(u) < 0.5 * z * z + d * (1 - v + Math.log(v))) {
        x = d * v;
        break;
      }
    }
    // Shape < 1: sample Gamma(shape + 1) and scale by U^(1/shape) (Marsaglia–Tsang's boost).
    if (this.shape < 1) x *= Math.pow(openUnit(rng), 1 / this.shape);
    return x * this.scale;
  }
}

/** Erlang: the sum of k exponentials, mean `mean` in total (k draws per sample). */
export class Erlang implements Distribution {
  readonly variance: number;
  private readonly phaseMean: number;
  constructor(
    readonly k: number,
    readonly mean: number,
  ) {
    if (!Number.isInteger(k) || k < 1) throw paramError("erlang", "k must be a positive integer", "k an integer >= 1", `k=${k}`);
    requireFinite("erlang", "mean", mean, 0, true, ">= 0");
    this.phaseMean = mean / k;
    this.variance = k * this.phaseMean * this.phaseMean;
  }
  get text(): string {
    return `erlang(k=${this.k},mean=${fmtTime(this.mean)})`;
  }
  sample(rng: Rng): number {
    // -θ·ln(∏(1-u)): one log per sample; renormalise before the product underflows.
    let logSum = 0;
    let prod = 1;
    for (let i = 0; i < this.k; i++) {
      prod *= 1 - rng.next();
      if (prod < 1e-280) {
        logSum += Math.log(prod);
        prod = 1;
      }
    }
    return -this.phaseMean * (logSum + Math.log(prod));
  }
}

/**
 * Pareto with shape alpha and minimum `min`, optionally bounded above by `max` (then any
 * alpha > 0 has a finite mean). Unbounded, the mean needs alpha > 1 and the variance alpha > 2
 * (else Infinity). Sampled by inversion.
 */
export class Pareto implements Distribution {
  readonly mean: number;
  readonly variance: number;
  /** 1 - (min/max)^alpha: the CDF's range, 1 when unbounded. */
  private readonly span: number;
  private readonly invAlpha: number;
  constructor(
    readonly alpha: number,
    readonly min: number,
    readonly max: number = Infinity,
  ) {
    requireFinite("pareto", "alpha", alpha, 0, false, "> 0");
    requireFinite("pareto", "min", min, 0, false, "> 0");
    if (!(max > min)) throw paramError("pareto", "max must be above min", "min < max", `min=${fmtTime(min)},max=${fmtTime(max)}`);
    this.invAlpha = 1 / alpha;
    if (max === Infinity) {
      if (alpha <= 1) {
        throw paramError("pareto", "an unbounded Pareto needs alpha > 1 for a finite mean (or give max)", "alpha > 1", `alpha=${alpha}`);
      }
      this.span = 1;
      this.mean = (alpha * min) / (alpha - 1);
      this.variance = alpha > 2 ? (min * min * alpha) / ((alpha - 1) * (alpha - 1) * (alpha - 2)) : Infinity;
    } else {
      this.span = 1 - Math.pow(min / max, alpha);
      const m1 = this.rawMoment(1);
      this.mean = m1;
      this.variance = Math.max(0, this.rawMoment(2) - m1 * m1);
    }
  }

  /** E[X^j] of the bounded Pareto: alpha·L^alpha/span · ∫_L^H x^(j-alpha-1) dx. */
  private rawMoment(j: number): number {
    const { alpha, min: L, max: H } = this;
    const integral =
      Math.abs(j - alpha) < 1e-12 ? Math.log(H / L) : (Math.pow(H, j - alpha) - Math.pow(L, j - alpha)) / (j - alpha);
    return ((alpha * Math.pow(L, alpha)) / this.span) * integral;
  }

  get text(): string {
    const max = this.max === Infinity ? "" : `,max=${fmtTime(this.max)}`;
    return `pareto(alpha=${this.alpha},min=${fmtTime(this.min)}${max})`;
  }

  sample(rng: Rng): number {
    const x = this.min * Math.pow(1 - rng.next() * this.span, -this.invAlpha);
    return x < this.max ? x : this.max;
  }
}

/** An unbounded Pareto with the given mean: min = mean·(alpha-1)/alpha, alpha > 1. */
export function paretoByMean(alpha: number, mean: number): Pareto {
  requireFinite("pareto", "mean", mean, 0, false, "> 0");
  if (!(alpha > 1) || !Number.isFinite(alpha)) {
    throw paramError("pareto", "a Pareto given by its mean needs alpha > 1", "alpha > 1", `alpha=${alpha}`);
  }
  return new Pareto(alpha, (mean * (alpha - 1)) / alpha);
}

export class Weibull implements Distribution {
  readonly mean: number;
  readonly variance: number;
  private readonly invShape: number;
  constructor(
    readonly shape: number,
    readonly scale: number,
  ) {
    requireFinite("weibull", "shape", shape, 0, false, "> 0");
    requireFinite("weibull", "scale", scale, 0, true, ">= 0");
    this.invShape = 1 / shape;
    const g1 = gammaFunction(1 + 1 / shape);
    const g2 = gammaFunction(1 + 2 / shape);
    this.mean = scale * g1;
    this.variance = scale * scale * Math.max(0, g2 - g1 * g1);
  }
  get text(): string {
    return `weibull(shape=${this.shape},scale=${fmtTime(this.scale)})`;
  }
  sample(rng: Rng): number {
    return this.scale * Math.pow(-Math.log(1 - rng.next()), this.invShape);
  }
}

/**
 * A discrete distribution over a table of values with optional weights (equal by default):
 * each sample is one of the values, picked by inversion of the cumulative weights.
 */
export class Empirical implements Distribution {
  readonly mean: number;
  readonly variance: number;
  readonly values: readonly number[];
  readonly weights: readonly number[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(values: readonly number[], weights?: readonly number[]) {
    if (values.length === 0) throw paramError("empirical", "needs at least one value", "one or more values", "none");
    if (weights !== undefined && weights.length !== values.length) {
      throw paramError("empirical", "needs one weight per value", `${values.length} weights`, `${weights.length}`);
    }
    const w = weights ?? values.map(() => 1);
    for (const v of values) requireFinite("empirical", "value", v, 0, true, ">= 0");
    for (const x of w) requireFinite("empirical", "weight", x, 0, true, ">= 0");
    this.values = [...values];
    this.weights = [...w];
    this.cumulative = new Float64Array(values.length);
    let total = 0;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      total += w[i];
      this.cumulative[i] = total;
      sum += w[i] * values[i];
    }
    if (!(total > 0)) throw paramError("empirical", "the weights must not all be zero", "a positive weight", "all zero");
    this.total = total;
    this.mean = sum / total;
    let sq = 0;
    for (let i = 0; i < values.length; i++) sq += w[i] * (values[i] - this.mean) ** 2;
    this.variance = sq / total;
  }

  get text(): string {
    const equal = this.weights.every((x) => x === this.weights[0]);
    const items = this.values.map((v, i) => (equal ? fmtTime(v) : `${fmtTime(v)}:${this.weights[i]}`));
    return `empirical(${items.join(",")})`;
  }

  sample(rng: Rng): number {
    const target = rng.next() * this.total;
    const cum = this.cumulative;
    // First index whose cumulative weight exceeds the target.
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo];
  }
}

// ---------------------------------------------------------------------------------------------
// Text forms

const DISTRIBUTION_EXPECTED =
  "a distribution like exp(2ms), const(1ms), uniform(1ms,3ms), normal(mean=2ms,sd=0.5ms), " +
  "lognormal(mean=2ms,cv=1.5), gamma(shape=2,mean=2ms), erlang(k=3,mean=3ms), " +
  "pareto(alpha=1.5,min=1ms,max=1s), weibull(shape=1.5,scale=2ms), empirical(1ms,2ms,5ms), or a duration";

type ParamKind = "time" | "number" | "integer";
interface ParamSpec {
  name: string;
  kind: ParamKind;
  optional?: boolean;
  aliases?: string[];
}
interface DistSpec {
  params: ParamSpec[];
  build(p: Map<string, number>): Distribution;
}

const get = (p: Map<string, number>, name: string): number => p.get(name) as number;

const SPECS: Readonly<Record<string, DistSpec>> = {
  const: { params: [{ name: "value", kind: "time" }], build: (p) => new Constant(get(p, "value")) },
  exp: { params: [{ name: "mean", kind: "time" }], build: (p) => new Exponential(get(p, "mean")) },
  uniform: {
    params: [
      { name: "min", kind: "time", aliases: ["a", "low"] },
      { name: "max", kind: "time", aliases: ["b", "high"] },
    ],
    build: (p) => new Uniform(get(p, "min"), get(p, "max")),
  },
  normal: {
    params: [
      { name: "mean", kind: "time" },
      { name: "sd", kind: "time", aliases: ["stddev", "sigma"] },
    ],
    build: (p) => new Normal(get(p, "mean"), get(p, "sd"), true),
  },
  lognormal: {
    params: [
      { name: "mean", kind: "time" },
      { name: "cv", kind: "number" },
    ],
    build: (p) => new Lognormal(get(p, "mean"), get(p, "cv")),
  },
  gamma: {
    params: [
      { name: "shape", kind: "number", aliases: ["k"] },
      { name: "mean", kind: "time" },
    ],
    build: (p) => new Gamma(get(p, "shape"), get(p, "mean")),
  },
  erlang: {
    params: [
      { name: "k", kind: "integer" },
      { name: "mean", kind: "time" },
    ],
    build: (p) => new Erlang(get(p, "k"), get(p, "mean")),
  },
  pareto: {
    params: [
      { name: "alpha", kind: "number" },
      { name: "min", kind: "time", optional: true, aliases: ["low", "xm"] },
      { name: "max", kind: "time", optional: true, aliases: ["high"] },
      { name: "mean", kind: "time", optional: true },
    ],
    build: (p) => {
      if (p.has("mean")) {
        if (p.has("min") || p.has("max")) {
          throw paramError("pareto", "give either mean or min (and max), not both", "pareto(alpha=…,mean=…) or pareto(alpha=…,min=…,max=…)", "mean with min/max");
        }
        return paretoByMean(get(p, "alpha"), get(p, "mean"));
      }
      if (!p.has("min")) throw paramError("pareto", "needs min (or mean)", "min=… or mean=…", "neither");
      return new Pareto(get(p, "alpha"), get(p, "min"), p.has("max") ? get(p, "max") : Infinity);
    },
  },
  weibull: {
    params: [
      { name: "shape", kind: "number", aliases: ["k"] },
      { name: "scale", kind: "time", aliases: ["lambda"] },
    ],
    build: (p) => new Weibull(get(p, "shape"), get(p, "scale")),
  },
};

const NAME_ALIASES: Readonly<Record<string, string>> = {
  constant: "const",
  deterministic: "const",
  exponential: "exp",
  gaussian: "normal",
};

interface Call {
  name: string;
  args: string[];
}

/** Splits `name(a, b=c)` into its name and trimmed arguments; null if it is not that shape. */
function splitCall(text: string): Call | null {
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*\(([^()]*)\)\s*$/.exec(text);
  if (m === null) return null;
  const inner = m[2].trim();
  return { name: m[1].toLowerCase(), args: inner === "" ? [] : inner.split(",").map((a) => a.trim()) };
}

function valueOf(kind: ParamKind, raw: string, dist: string, name: string): number {
  if (kind === "time") {
    try {
      return parseDuration(raw);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const why = /^[+]?[\d.]+(e[+-]?\d+)?$/i.test(raw)
        ? "must be a duration (times need a unit: ns, us, ms, s, m, h)"
        : raw.trim().startsWith("-")
          ? "cannot be negative"
          : "must be a duration";
      throw paramError(dist, `${name} ${why}`, `${name} a duration like 250us, 2ms, 1.5s`, `${name}=${raw}`);
    }
  }
  const n = raw === "" ? NaN : Number(raw);
  if (!Number.isFinite(n)) {
    throw paramError(dist, `${name} must be a number`, `${name} a plain number (no unit)`, `${name}=${raw}`);
  }
  if (kind === "integer" && !Number.isInteger(n)) {
    throw paramError(dist, `${name} must be an integer`, `${name} an integer`, `${name}=${raw}`);
  }
  return n;
}

/** Matches positional and `key=value` arguments against a parameter list. */
function bindParams(dist: string, params: ParamSpec[], args: string[]): Map<string, number> {
  const out = new Map<string, number>();
  let positional = 0;
  let sawNamed = false;
  for (const arg of args) {
    const eq = arg.indexOf("=");
    let spec: ParamSpec | undefined;
    let raw: string;
    if (eq >= 0) {
      sawNamed = true;
      const key = arg.slice(0, eq).trim().toLowerCase();
      raw = arg.slice(eq + 1).trim();
      spec = params.find((p) => p.name === key || (p.aliases ?? []).includes(key));
      if (spec === undefined) {
        const names = params.map((p) => p.name).join(", ");
        throw paramError(dist, `unknown parameter "${key}"`, `parameters ${names}`, arg);
      }
    } else {
      if (sawNamed) throw paramError(dist, "a positional argument after a named one", "positional arguments first", arg);
      spec = params[positional++];
      raw = arg;
      if (spec === undefined) {
        throw paramError(dist, "too many arguments", `at most ${params.length} argument(s)`, arg);
      }
    }
    if (out.has(spec.name)) throw paramError(dist, `${spec.name} given twice`, `${spec.name} once`, arg);
    out.set(spec.name, valueOf(spec.kind, raw, dist, spec.name));
  }
  for (const p of params) {
    if (!p.optional && !out.has(p.name)) {
      throw paramError(dist, `missing ${p.name}`, `${p.name}=…`, args.length === 0 ? "no arguments" : args.join(","));
    }
  }
  return out;
}

function parseEmpirical(args: string[]): Distribution {
  if (args.length === 0) throw paramError("empirical", "needs at least one value", "empirical(1ms,2ms,5ms)", "no values");
  const values: number[] = [];
  const weights: number[] = [];
  let weighted = 0;
  for (const arg of args) {
    const colon = arg.lastIndexOf(":");
    const rawValue = colon >= 0 ? arg.slice(0, colon).trim() : arg;
    values.push(valueOf("time", rawValue, "empirical", "value"));
    if (colon >= 0) {
      weights.push(valueOf("number", arg.slice(colon + 1).trim(), "empirical", "weight"));
      weighted++;
    } else {
      weights.push(1);
    }
  }
  if (weighted !== 0 && weighted !== args.length) {
    throw paramError("empirical", "give a weight for every value or for none", "empirical(1ms:3,5ms:1)", args.join(","));
  }
  return new Empirical(values, weighted === 0 ? undefined : weights);
}

/**
 * Reads a distribution of times from its text form (see DISTRIBUTION_EXPECTED). Times need a
 * unit; shape parameters (cv, shape, alpha, k) and weights are plain numbers. A bare duration
 * is a constant. `normal(...)` is truncated at zero: a time cannot be negative.
 */
export function parseDistribution(text: string, fieldPath?: string): Distribution {
  const found = typeof text === "string" ? (text === "" ? '""' : text) : String(text);
  const fail = (message: string, expected: string, foundPart: string): InputError =>
    new InputError(message, { fieldPath, expected, found: foundPart });
  if (typeof text !== "string" || text.trim() === "") throw fail("empty distribution", DISTRIBUTION_EXPECTED, found);
  const call = splitCall(text);
  if (call === null) {
    try {
      return new Constant(parseDuration(text));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw fail("not a distribution or a duration", DISTRIBUTION_EXPECTED, found);
    }
  }
  const name = NAME_ALIASES[call.name] ?? call.name;
  const spec = SPECS[name];
  if (spec === undefined && name !== "empirical") {
    throw fail(`unknown distribution "${call.name}"`, `one of ${[...Object.keys(SPECS), "empirical"].join(", ")}`, found);
  }
  try {
    return spec === undefined ? parseEmpirical(call.args) : spec.build(bindParams(name, spec.params, call.args));
  } catch (e) {
    // Parameter errors name the parameter; add the whole text and where it came from.
    if (!(e instanceof InputError)) throw e;
    throw new InputError(`${e.message} in "${text.trim()}"`, { fieldPath, expected: e.expected, found: e.found });
  }
}

// Arrival processes live in arrivals.ts; re-exported so that all text forms come from one place.
export { ConstantArrivals, OnOffArrivals, PoissonArrivals, parseArrival, parseRate } from "./arrivals.js";
export type { ArrivalProcess } from "./arrivals.js";
