/** Reading scenario files: see load.ts (entry points) and types.ts (what a Scenario holds). */
export { loadScenario, parseScenario, SVCSIM_API_VERSION, DEFAULT_RUN } from "./load.js";
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_ALIAS_COUNT, type ReadLimits } from "./yamlStream.js";
export { parseClientTarget, TARGET_EXPECTED } from "./targets.js";
export { originError } from "./context.js";
export {
  SERVICE_TIME_ANNOTATION,
  CONCURRENCY_ANNOTATION,
  SERVICE_NAME_LABEL,
  MANAGED_BY_LABEL,
  ENDPOINTSLICE_CONTROLLER,
  ENDPOINTSLICE_MIRRORING_CONTROLLER,
} from "./objects.js";
export type * from "./types.js";
