/**
 * What a shipped study is: its parameters (each with a default value or a list of values to
 * sweep), what `--quick` changes, how many replications, and a function that runs ONE
 * replication of ONE configuration and returns its metrics. The runner does the rest: grid
 * expansion, seeds and common random numbers, summaries, CSV, resuming, workers and shards.
 */
import type { RandomStreams } from "../sim/random.js";
import type { ChartSpec } from "./charts.js";
import type { CsvRow } from "./csv.js";

export type ParamValue = number | string;
export type Config = Record<string, ParamValue>;
/** Metric name → value, in the order they should appear in the CSV. */
export type Metrics = Record<string, number>;

export interface ParamSpec {
  description: string;
  kind: "number" | "integer" | "string";
  /** One value, or a list of values that the experiment sweeps by default. */
  default: ParamValue | ParamValue[];
  min?: number;
  /** The value must be strictly greater than `min`. */
  exclusiveMin?: boolean;
  max?: number;
  choices?: readonly string[];
}

export interface RunContext {
  seed: number;
  replication: number;
  /** Streams of (seed, replication, name): the same for every config of this replication. */
  streams: RandomStreams;
}

export interface ExperimentDefinition {
  name: string;
  /** The question the study answers, in one line (shown by `svcsim list`). */
  question: string;
  params: Record<string, ParamSpec>;
  /** Parameter overrides applied by `--quick` (a run of under a minute on a 2-core machine). */
  quick: Record<string, ParamValue | ParamValue[]>;
  /**
   * Overrides on top of `quick` for the test suite: the smallest run that still exercises every
   * code path of the study (seconds, not a minute).
   */
  tiny: Record<string, ParamValue | ParamValue[]>;
  replications: { full: number; quick: number };
  /** Checks across parameters (e.g. a stable queue); throws InputError. */
  validate?(config: Config): void;
  run(config: Config, ctx: RunContext): Metrics | Promise<Metrics>;
  /**
   * A rough relative cost of one replication of `config` (simulated requests, say). Only the
   * order in which a worker pool starts tasks depends on it: the most expensive go first, so
   * that no thread is left with a long task while the other has run out of work. Outputs never
   * depend on it.
   */
  cost?(config: Config): number;
  /**
   * Configs with the same key share what the study caches between tasks (a compiled plane,
   * say): a worker pool runs all their tasks on one thread, one after the other, so the cache
   * is filled once rather than on every thread. Outputs never depend on it.
   */
  shareKey?(config: Config): string;
  /**
   * Exact values from theory or published figures, written as summary rows beside ours. May be
   * async, for figures read from a file (experiments/reference.ts).
   */
  reference?(config: Config): Metrics | Promise<Metrics>;
  /**
   * The study's charts, built from the rows of its result CSV (charts.ts has the builders); drawn
   * as SVG next to the CSV after a run and by `svcsim plot CSV`.
   */
  charts?: (rows: CsvRow[]) => ChartSpec[];
  /** A few sentences with the numbers that answer the question, from the finished CSV's rows. */
  headlines?(rows: readonly CsvRow[]): string[];
}
