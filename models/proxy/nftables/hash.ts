/**
 * base32(sha256(text)) as Go's encoding/base32.StdEncoding writes it (upper case, RFC 4648
 * alphabet). Private stand-in until the shared models/proxy/hash.ts exists.
 */
import { createHash } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The first 16 characters (80 bits) of the encoding: all that chain names ever use. */
export function base32Sha256(text: string): string {
  const digest = createHash("sha256").update(text).digest();
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    buffer = (buffer << 8) | digest[i];
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= 0xff;
  }
  return out;
}
