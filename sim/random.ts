// Only seedrandom's Alea: the package's index loads all seven of its generators (8 ms of every
// process's start-up, worker threads' too) to use one. Imported, not required at run time, so
// that the command's bundle holds it (sim/seedrandomAlea.d.ts types it).
import alea from "seedrandom/lib/alea.js";
import { InputError } from "./errors.js";

/** A source of uniform draws in [0, 1). */
export interface Rng {
  next(): number;
}

/**
 * Named random streams for one replication of one configuration.
 *
 * A stream is derived from (seed, replication, name) alone, so:
 * - the same triple always yields the same draws, whatever else the model asks for and in
 *   which order (streams do not share state);
 * - two configurations compared in one experiment draw, e.g., identical arrivals from
 *   `get("arrivals/web-users")` (common random numbers), as long as they use the same names;
 * - replications differ only in the replication number, and get independent draws.
 *
 * The generator is seedrandom's Alea (Baagøe): fast, 32 bits of resolution per draw, seeded by
 * hashing a string that spells out all three parts.
 */
export class RandomStreams {
  readonly seed: number;
  readonly replication: number;
  private readonly streams = new Map<string, Rng>();

  constructor(seed: number, replication: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new InputError("the seed must be an integer", { fieldPath: "seed", expected: "an integer", found: String(seed) });
    }
    if (!Number.isSafeInteger(replication) || replication < 0) {
      throw new InputError("the replication must be a non-negative integer", {
        fieldPath: "replication",
        expected: "an integer >= 0",
        found: String(replication),
      });
    }
    this.seed = seed;
    this.replication = replication;
  }

  /** The stream named `name`; the same object on every call with that name. */
  get(name: string): Rng {
    let rng = this.streams.get(name);
    if (rng === undefined) {
      rng = createStream(this.seed, this.replication, name);
      this.streams.set(name, rng);
    }
    return rng;
  }
}

/** The seed string of a stream; numbers cannot contain "|", so the parts cannot run together. */
export function streamSeed(seed: number, replication: number, name: string): string {
  return `svcsim|${seed}|${replication}|${name}`;
}

/** A fresh stream for (seed, replication, name), not cached: prefer RandomStreams.get. */
export function createStream(seed: number, replication: number, name: string): Rng {
  return new AleaStream(streamSeed(seed, replication, name));
}

/**
 * Baagøe's Alea, step for step as seedrandom's `alea` computes it (the same draws, bit for bit),
 * from the state seedrandom seeds. seedrandom's generator is a closure over an object; this is
 * a class with the state in its own fields: a draw is a monomorphic method call with a fifth
 * less bytecode to inline, which matters because V8 inlines a model's hot path (draw,
 * schedule, record) only within a budget of bytecode.
 */
export class AleaStream implements Rng {
  // Initialised to numbers, not left undefined until the constructor runs, so that V8 tracks
  // them as number fields from the start.
  private c = 0;
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;

  /** The stream seedrandom.alea(seed) would give. */
  constructor(seed: string) {
    const state = alea(seed, { state: true }).state();
    this.c = state.c;
    this.s0 = state.s0;
    this.s1 = state.s1;
    this.s2 = state.s2;
  }

  /** A uniform draw in [0, 1), a multiple of 2^-32. */
  next(): number {
    const t = 2091639 * this.s0 + this.c * 2.3283064365386963e-10; // 2^-32
    this.s0 = this.s1;
    this.s1 = this.s2;
    return (this.s2 = t - (this.c = t | 0));
  }
}

/**
 * A uniform integer in [0, n). Multiplies a 32-bit draw, so the bias is below n / 2^32: fine
 * for picking among endpoints, nodes or rules, not for cryptography.
 */
export function uniformInt(rng: Rng, n: number): number {
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`uniformInt: n must be a positive integer, got ${n}`);
  return Math.floor(rng.next() * n);
}

/*
 * Exponential draws by the ziggurat method (Marsaglia & Tsang, "The ziggurat method for
 * generating random variables", J. Stat. Softw. 5(8), 2000), with 256 layers. Inversion,
 * -log(1 - u), costs a call to the C library's log per draw, which was a fifth of an M/M/1
 * run; the ziggurat needs one uniform, a multiply and a compare 97.8 % of the time, and a log
 * or exp only in the tail and the wedges.
 *
 * One 32-bit draw is split into independent parts: the low 8 bits pick the layer, the high 24
 * the position within it (Marsaglia & Tsang used all 32 bits for the position, so position and
 * layer shared bits; Doornik, 2005, showed the cost of that). 24 bits resolve a layer to 6e-8
 * of its width: a draw is exact to about 5e-7 of the mean, far below any simulation's noise.
 */
const ZIG_LAYERS = 256;
/** Where the tail begins, and the area of each layer (Marsaglia & Tsang's de and ve). */
const ZIG_R = 7.697117470131487;
const ZIG_V = 3.949659822581572e-3;
const ZIG_M = 2 ** 24;
/** Accept position p of layer i at once when p < ZIG_K[i]: the point lies under the next layer's edge. */
const ZIG_K = new Int32Array(ZIG_LAYERS);
/** A position in layer i, times ZIG_W[i], is x. */
const ZIG_W = new Float64Array(ZIG_LAYERS);
/** ZIG_F[i] = exp(-x_i), the density at layer i's right edge. */
const ZIG_F = new Float64Array(ZIG_LAYERS);
{
  let de = ZIG_R;
  let te = de;
  const q = ZIG_V / Math.exp(-de);
  ZIG_K[0] = Math.floor((de / q) * ZIG_M);
  ZIG_K[1] = 0;
  ZIG_W[0] = q / ZIG_M;
  ZIG_W[ZIG_LAYERS - 1] = de / ZIG_M;
  ZIG_F[0] = 1;
  ZIG_F[ZIG_LAYERS - 1] = Math.exp(-de);
  for (let i = ZIG_LAYERS - 2; i >= 1; i--) {
    de = -Math.log(ZIG_V / de + Math.exp(-de));
    ZIG_K[i + 1] = Math.floor((de / te) * ZIG_M);
    te = de;
    ZIG_F[i] = Math.exp(-de);
    ZIG_W[i] = de / ZIG_M;
  }
}

/**
 * A draw from the exponential distribution with mean 1 (multiply by the mean you want). Takes
 * one uniform from `rng` almost always, and a few more now and then: a stream used for
 * exponentials only stays in step across configurations (common random numbers), whatever
 * the means.
 */
export function standardExponential(rng: Rng): number {
  const j = rng.next() * 4294967296;
  const layer = j & 0xff;
  const position = j >>> 8;
  if (position < ZIG_K[layer]) return position * ZIG_W[layer];
  // The slow path leaves its draw in a typed array rather than returning it: a call's result
  // is a tagged value, and merged with the fast path's raw double it made V8 box EVERY draw
  // (a heap number per exponential: 67 MB per 2M-customer M/M/1 run, 7 % of its time).
  exponentialSlow(rng, layer, position);
  return slowDraw[0];
}

const slowDraw = new Float64Array(1);

/**
 * Exponential draws with a given mean from one stream, made a block at a time: the same values
 * in the same order as `standardExponential(rng) * mean` drawn one by one. For a model that
 * draws at every event (mm1's gaps and services), ~5 % less time: the loop that fills a block
 * keeps the generator's state in registers, where a draw inlined into a handler loads and
 * stores it every time. The stream runs up to a block ahead of what has been taken from it,
 * so give each block a stream of its own.
 */
export class ExponentialBlock {
  private readonly block: Float64Array;
  /** The next draw to hand out; block.length once the block is used up. */
  private position: number;

  constructor(
    private readonly rng: Rng,
    private readonly mean: number,
    size = 256,
  ) {
    if (!(size >= 1) || !Number.isInteger(size)) throw new RangeError(`ExponentialBlock: size must be a positive integer, got ${size}`);
    this.block = new Float64Array(size);
    this.position = size;
  }

  next(): number {
    if (this.position === this.block.length) this.refill();
    return this.block[this.position++];
  }

  private refill(): void {
    const { block, rng, mean } = this;
    for (let i = 0; i < block.length; i++) block[i] = standardExponential(rng) * mean;
    this.position = 0;
  }
}

function exponentialSlow(rng: Rng, layer: number, position: number): void {
  slowDraw[0] = exponentialTail(rng, layer, position);
}

/** The 2.2 % of draws that land in the tail or in a wedge between layers. */
function exponentialTail(rng: Rng, layer: number, position: number): number {
  for (;;) {
    // The base layer's overhang is the tail beyond R, itself exponential: R + Exp(1).
    if (layer === 0) return ZIG_R - Math.log(1 - rng.next());
    const x = position * ZIG_W[layer];
    if (ZIG_F[layer] + rng.next() * (ZIG_F[layer - 1] - ZIG_F[layer]) < Math.exp(-x)) return x;
    const j = rng.next() * 4294967296;
    layer = j & 0xff;
    position = j >>> 8;
    if (position < ZIG_K[layer]) return position * ZIG_W[layer];
  }
}
