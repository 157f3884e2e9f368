import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { LabelSelector } from "../scenario/types.js";
import { formatLabelSelector, matchesLabelSelector, matchesServiceSelector } from "./selectors.js";

const sel = (s: Partial<LabelSelector>): LabelSelector => ({ matchLabels: {}, matchExpressions: [], ...s });

describe("label selectors", () => {
  const labels = { app: "web", tier: "front", canary: "" };

  test("a Service selector: every pair must match; an empty one selects nothing", () => {
    expect(matchesServiceSelector({ app: "web" }, labels)).toBe(true);
    expect(matchesServiceSelector({ app: "web", tier: "back" }, labels)).toBe(false);
    expect(matchesServiceSelector({ zone: "a" }, labels)).toBe(false);
    expect(matchesServiceSelector({}, labels)).toBe(false);
  });

  test("matchExpressions: In, NotIn, Exists, DoesNotExist", () => {
    const expr = (operator: "In" | "NotIn" | "Exists" | "DoesNotExist", key: string, values: string[] = []) =>
      matchesLabelSelector(sel({ matchExpressions: [{ key, operator, values }] }), labels);
    expect(expr("In", "tier", ["front", "back"])).toBe(true);
    expect(expr("In", "tier", ["back"])).toBe(false);
    expect(expr("In", "missing", ["x"])).toBe(false);
    expect(expr("NotIn", "tier", ["back"])).toBe(true);
    expect(expr("NotIn", "tier", ["front"])).toBe(false);
    expect(expr("NotIn", "missing", ["x"])).toBe(true); // a missing key is "not in"
    expect(expr("Exists", "canary")).toBe(true); // an empty value still exists
    expect(expr("Exists", "missing")).toBe(false);
    expect(expr("DoesNotExist", "missing")).toBe(true);
    expect(expr("DoesNotExist", "app")).toBe(false);
  });

  test("matchLabels AND every expression", () => {
    const s = sel({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["front"] },
        { key: "version", operator: "DoesNotExist", values: [] },
      ],
    });
    expect(matchesLabelSelector(s, labels)).toBe(true);
    expect(matchesLabelSelector(s, { ...labels, version: "2" })).toBe(false);
    expect(matchesLabelSelector(s, { ...labels, app: "api" })).toBe(false);
    expect(formatLabelSelector(s)).toBe("app=web,tier in (front),!version");
  });

  test("property: In {v} is the same as matchLabels {k: v}", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom("a", "b", "c"), fc.constantFrom("x", "y")), fc.constantFrom("a", "b"), fc.constantFrom("x", "y"), (l, k, v) => {
        const viaIn = matchesLabelSelector(sel({ matchExpressions: [{ key: k, operator: "In", values: [v] }] }), l);
        const viaLabels = matchesLabelSelector(sel({ matchLabels: { [k]: v } }), l);
        const viaNotIn = matchesLabelSelector(sel({ matchExpressions: [{ key: k, operator: "NotIn", values: [v] }] }), l);
        return viaIn === viaLabels && viaNotIn === !viaIn;
      }),
    );
  });
});
