/**
 * Deterministic stand-ins for the names and ids the control plane makes up at random: pod
 * template hashes, pod and EndpointSlice name suffixes, UIDs. They look like Kubernetes' (same
 * alphabet and lengths) and are derived from names only, so a scenario always resolves the same.
 */

/** FNV-1a, 32 bits, over the UTF-16 code units of `text`. */
export function fnv1a32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The consonants and digits Kubernetes uses in generated names (no vowels, no look-alikes). */
export const NAME_ALPHABET = "bcdfghjkmnpqrstvwxz2456789";

/** Kubernetes' rand.SafeEncodeString: each character mapped into NAME_ALPHABET. */
export function safeEncode(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) out += NAME_ALPHABET[text.charCodeAt(i) % NAME_ALPHABET.length];
  return out;
}

/** `length` characters of NAME_ALPHABET derived from `key` (like the 5-char generateName suffix). */
export function nameSuffix(key: string, length = 5): string {
  let out = "";
  let h = fnv1a32(key);
  let round = 0;
  while (out.length < length) {
    out += NAME_ALPHABET[h % NAME_ALPHABET.length];
    h = Math.floor(h / NAME_ALPHABET.length);
    if (h < NAME_ALPHABET.length) h = fnv1a32(`${key}#${++round}`);
  }
  return out;
}

/** JSON with sorted keys, so that equal objects hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The pod-template-hash label of a ReplicaSet: like controller.ComputeHash, the FNV-32a of the
 * template (plus the collision count) printed in decimal and safe-encoded (up to 10 chars).
 */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const h = fnv1a32(canonicalJson(template) + (collisionCount > 0 ? `#${collisionCount}` : ""));
  return safeEncode(String(h));
}

/** A UUID-shaped id derived from `key` (metadata.uid). */
export function deterministicUid(key: string): string {
  const hex = [0, 1, 2, 3].map((i) => fnv1a32(`${i}:${key}`).toString(16).padStart(8, "0")).join("");
  // Version 4 / variant 10 bits, so it reads as a normal UUID.
  const v = `${hex.slice(0, 12)}4${hex.slice(13, 16)}${((parseInt(hex[16], 16) & 3) | 8).toString(16)}${hex.slice(17, 32)}`;
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`;
}
