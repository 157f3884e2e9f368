/**
 * The value languages a scenario uses inside strings (distributions, arrival processes) belong
 * to sim/distributions.ts. A scenario keeps their validated text, so this layer does not fix how
 * samplers are represented at run time; consumers call parseDistribution/parseArrival on it.
 */
import { InputError } from "../../sim/errors.js";
import { parseArrival, parseDistribution } from "../../sim/distributions.js";

function asText(text: unknown, fieldPath: string | undefined, expected: string): string {
  if (typeof text !== "string") throw new InputError("not text", { fieldPath, expected, found: String(text) });
  return text;
}

/** Validates a distribution's text with sim's parser; returns it trimmed. Throws InputError. */
export function checkDistribution(text: unknown, fieldPath?: string): string {
  const s = asText(text, fieldPath, "a distribution like exp(2ms)");
  parseDistribution(s, fieldPath);
  return s.trim();
}

/** Validates an arrival process's text with sim's parser; returns it trimmed. Throws InputError. */
export function checkArrival(text: unknown, fieldPath?: string): string {
  const s = asText(text, fieldPath, "an arrival process like poisson(500/s)");
  parseArrival(s, fieldPath);
  return s.trim();
}
