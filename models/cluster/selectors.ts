/**
 * Label selectors as Kubernetes evaluates them: a Service's selector is a plain map (every pair
 * must match); a Deployment's is a LabelSelector, matchLabels AND every matchExpression.
 */
import type { LabelSelector, LabelSelectorRequirement } from "../scenario/types.js";

/** A Service selector: every key present with the same value. An empty map selects nothing here
 * (Kubernetes treats a Service with an empty selector as one without a selector). */
export function matchesServiceSelector(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  for (const k of keys) {
    if (labels[k] !== selector[k]) return false;
  }
  return true;
}

export function matchesRequirement(req: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.operator) {
    case "In":
      return has && req.values.includes(labels[req.key]);
    case "NotIn":
      // Kubernetes: NotIn also matches objects without the key.
      return !has || !req.values.includes(labels[req.key]);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
  }
}

/** A LabelSelector. An empty selector (no labels, no expressions) matches everything, as in
 * metav1.LabelSelectorAsSelector; callers that must reject it (Deployments) do so on input. */
export function matchesLabelSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    if (labels[k] !== v) return false;
  }
  return selector.matchExpressions.every((r) => matchesRequirement(r, labels));
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}

/** kubectl's text form: `app=web,tier in (a,b),!canary`. */
export function formatLabelSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions) {
    switch (r.operator) {
      case "In":
        parts.push(`${r.key} in (${r.values.join(",")})`);
        break;
      case "NotIn":
        parts.push(`${r.key} notin (${r.values.join(",")})`);
        break;
      case "Exists":
        parts.push(r.key);
        break;
      case "DoesNotExist":
        parts.push(`!${r.key}`);
        break;
    }
  }
  return parts.join(",");
}
