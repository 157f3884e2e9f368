/**
 * kube-proxy's chain-name hash, shared by the iptables and nftables modes.
 *
 * kube-proxy names a Service port's chains (KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW-) with
 * the first 16 characters of the standard base32 encoding (RFC 4648 alphabet, A-Z2-7) of
 * sha256(servicePortName + protocol), where servicePortName is "ns/name" or "ns/name:port"
 * and protocol is lower case ("tcp"). An endpoint's KUBE-SEP- chain hashes
 * servicePortName + protocol + "ip:port". Sixteen base32 characters are exactly the first
 * ten bytes of the digest, so only those are encoded.
 */
import crypto from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The first 16 base32 characters of `digest` (which must hold at least 10 bytes). */
export function base32Prefix16(digest: Uint8Array): string {
  let out = "";
  // Two groups of 5 bytes = 40 bits = 8 characters each.
  for (let g = 0; g < 10; g += 5) {
    // 40 bits do not fit a 32-bit int: split into the high 8 and low 32 bits.
    const hi = digest[g];
    const lo = ((digest[g + 1] << 24) | (digest[g + 2] << 16) | (digest[g + 3] << 8) | digest[g + 4]) >>> 0;
    out +=
      ALPHABET[hi >>> 3] +
      ALPHABET[((hi & 7) << 2) | (lo >>> 30)] +
      ALPHABET[(lo >>> 25) & 31] +
      ALPHABET[(lo >>> 20) & 31] +
      ALPHABET[(lo >>> 15) & 31] +
      ALPHABET[(lo >>> 10) & 31] +
      ALPHABET[(lo >>> 5) & 31] +
      ALPHABET[lo & 31];
  }
  return out;
}

/** One-shot sha256 (crypto.hash, Node >= 20.12, is ~3x faster than createHash for short input). */
const sha256: (data: string) => Uint8Array =
  typeof crypto.hash === "function"
    ? (data) => crypto.hash("sha256", data, "buffer")
    : (data) => crypto.createHash("sha256").update(data).digest();

/** kube-proxy's portProtoHash: the 16-character suffix of a Service port's chains. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return base32Prefix16(sha256(servicePortName + protocol));
}

/** The 16-character suffix of an endpoint's KUBE-SEP- chain (`endpoint` is "ip:port"). */
export function endpointHash(servicePortName: string, protocol: string, endpoint: string): string {
  return base32Prefix16(sha256(servicePortName + protocol + endpoint));
}
