/** The simulation kernel's public API: import from "sim/index.js" or from the individual files. */
export * from "./errors.js";
export * from "./time.js";
export * from "./heap.js";
export * from "./engine.js";
export * from "./random.js";
export * from "./distributions.js";
export * from "./histogram.js";
export { Welford, TimeWeighted } from "./stats.js";
export * from "./fairness.js";
export * from "./summary.js";
export * from "./queueing.js";
export {
  gammaFunction,
  logGamma,
  normalCdf,
  normalPdf,
  normalQuantile,
  regularizedBeta,
  regularizedGammaP,
  regularizedGammaQ,
  studentTCdf,
  studentTQuantile,
} from "./special.js";
