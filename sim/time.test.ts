import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { InputError } from "./errors.js";
import { NS_PER_MS, NS_PER_S, NS_PER_US, formatDuration, fromSeconds, parseDuration, toSeconds } from "./time.js";

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error("expected an InputError");
}

describe("parseDuration", () => {
  it.each([
    ["250ns", 250],
    ["250us", 250 * NS_PER_US],
    ["250µs", 250 * NS_PER_US],
    ["2ms", 2 * NS_PER_MS],
    ["1.5s", 1.5 * NS_PER_S],
    [".5s", 0.5 * NS_PER_S],
    ["5m", 300 * NS_PER_S],
    ["1h", 3600 * NS_PER_S],
    ["0", 0],
    ["0s", 0],
    ["1m30s", 90 * NS_PER_S],
    ["1h2m3.5s", 3723.5 * NS_PER_S],
    ["2s500ms", 2.5 * NS_PER_S],
    ["  30s ", 30 * NS_PER_S],
    ["0.5ns", 1], // rounded to the nearest integer ns
  ])("reads %s", (text, ns) => {
    expect(parseDuration(text)).toBe(ns);
  });

  it.each(["", "   ", "-1s", "1", "1.5", "abc", "1x", "s", "1 s", "1s-", "Infinity", "NaN", "1e3s", "1ms2", "--1s", "9999999h"])(
    "rejects %j with the field, what was expected and what was found",
    (text) => {
      const e = inputError(() => parseDuration(text, "spec.duration"));
      expect(e.fieldPath).toBe("spec.duration");
      expect(e.expected).toBe("a duration like 250us, 2ms, 1.5s, 5m");
      expect(e.found).toBe(text === "" ? '""' : text);
    },
  );

  it("accepts a YAML number 0 but no other bare number", () => {
    expect(parseDuration(0 as unknown as string)).toBe(0);
    expect(inputError(() => parseDuration(5 as unknown as string)).found).toBe("5");
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0"],
    [250, "250ns"],
    [12_500, "12.5us"],
    [2 * NS_PER_MS, "2ms"],
    [1.5 * NS_PER_S, "1.5s"],
    [300 * NS_PER_S, "5m"],
    [90 * NS_PER_S, "1m30s"],
    [3600 * NS_PER_S + 5 * NS_PER_S, "1h0m5s"],
    [1_000_000_001, "1.000000001s"],
  ])("writes %d ns as %s", (ns, text) => {
    expect(formatDuration(ns)).toBe(text);
  });

  it("round-trips through parseDuration for any integer ns up to 104 days", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ns) => parseDuration(formatDuration(ns)) === ns),
      { numRuns: 2000 },
    );
  });
});

describe("seconds", () => {
  it("converts both ways, rounding to integer nanoseconds", () => {
    expect(toSeconds(1_500_000_000)).toBe(1.5);
    expect(fromSeconds(1.5)).toBe(1_500_000_000);
    expect(fromSeconds(1e-10)).toBe(0);
    expect(Number.isInteger(fromSeconds(0.1234567891234))).toBe(true);
  });
});
