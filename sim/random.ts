import seedrandom from "seedrandom";
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
  // Alea's generator is a closure over its own state; calling it as a method is safe.
  const next = seedrandom.alea(streamSeed(seed, replication, name));
  return { next };
}

/**
 * A uniform integer in [0, n). Multiplies a 32-bit draw, so the bias is below n / 2^32: fine
 * for picking among endpoints, nodes or rules, not for cryptography.
 */
export function uniformInt(rng: Rng, n: number): number {
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`uniformInt: n must be a positive integer, got ${n}`);
  return Math.floor(rng.next() * n);
}
