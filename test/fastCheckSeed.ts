/**
 * Property tests (fast-check) draw the same cases on every run, so that CI is reproducible and
 * a failure can be replayed; set FAST_CHECK_SEED to another integer to explore new cases.
 */
import fc from "fast-check";

const fromEnv = Number(process.env.FAST_CHECK_SEED);
fc.configureGlobal({ seed: Number.isSafeInteger(fromEnv) ? fromEnv : 20261127 });
