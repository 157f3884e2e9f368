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
import { createRequire } from "node:module";

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

/**
 * sha256 by node:crypto, for input the code below does not take (long or not ASCII). The module
 * is loaded on first use: it costs ~5 ms of every command's start-up otherwise, and most never
 * need it. (crypto.hash, Node >= 20.12, is ~3x faster than createHash for short input.)
 */
let cryptoSha256: ((data: string) => Uint8Array) | undefined;
function nodeSha256(data: string): Uint8Array {
  if (cryptoSha256 === undefined) {
    const crypto = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
    cryptoSha256 =
      typeof crypto.hash === "function"
        ? (text) => crypto.hash("sha256", text, "buffer")
        : (text) => crypto.createHash("sha256").update(text).digest();
  }
  return cryptoSha256(data);
}

// SHA-256 (FIPS 180-4) for short ASCII strings, in plain JavaScript: chain names are hashed by
// the hundred thousand per compile, and for inputs of a block or two this avoids node:crypto's
// per-call overhead (about twice as fast). Anything non-ASCII goes to node:crypto.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Int32Array(64);
const MAX_JS_INPUT = 1000;
const block = new Uint8Array(MAX_JS_INPUT + 72);
const digest = new Uint8Array(32);

const H = new Int32Array(8);

/** Copies ASCII `s` into the block at `at`; -1 if it is not ASCII or too long. */
function put(s: string, at: number): number {
  const n = s.length;
  if (at + n > MAX_JS_INPUT) return -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return -1;
    block[at + i] = c;
  }
  return at + n;
}

/**
 * sha256 of the concatenation of up to three ASCII strings, leaving the state words in H;
 * false if the input is not short ASCII.
 */
function jsSha256(p1: string, p2 = "", p3 = ""): boolean {
  let n = put(p1, 0);
  if (n >= 0) n = put(p2, n);
  if (n >= 0) n = put(p3, n);
  if (n < 0) return false;
  const len = (((n + 8) >> 6) + 1) << 6;
  block[n] = 0x80;
  block.fill(0, n + 1, len - 4);
  const bits = n * 8;
  block[len - 4] = bits >>> 24;
  block[len - 3] = (bits >>> 16) & 255;
  block[len - 2] = (bits >>> 8) & 255;
  block[len - 1] = bits & 255;
  let h0 = 0x6a09e667 | 0, h1 = 0xbb67ae85 | 0, h2 = 0x3c6ef372 | 0, h3 = 0xa54ff53a | 0;
  let h4 = 0x510e527f | 0, h5 = 0x9b05688c | 0, h6 = 0x1f83d9ab | 0, h7 = 0x5be0cd19 | 0;
  for (let off = 0; off < len; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      W[i] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = W[i - 15];
      const b = W[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
  H[6] = h6;
  H[7] = h7;
  return true;
}

/** sha256(data); the returned array is reused by the next call. */
export function sha256(data: string): Uint8Array {
  if (!jsSha256(data)) return nodeSha256(data);
  for (let i = 0; i < 8; i++) {
    const w = H[i];
    digest[i * 4] = w >>> 24;
    digest[i * 4 + 1] = (w >>> 16) & 255;
    digest[i * 4 + 2] = (w >>> 8) & 255;
    digest[i * 4 + 3] = w & 255;
  }
  return digest;
}

const CODES = Uint8Array.from(ALPHABET, (ch) => ch.charCodeAt(0));

/** base32Prefix16 of the digest whose first words are in H (80 bits: H[0], H[1], top of H[2]). */
function base32FromState(): string {
  const a = H[0] >>> 0;
  const b = H[1] >>> 0;
  const c = H[2] >>> 0;
  // One allocation instead of fifteen intermediate strings.
  return String.fromCharCode(
    CODES[a >>> 27],
    CODES[(a >>> 22) & 31],
    CODES[(a >>> 17) & 31],
    CODES[(a >>> 12) & 31],
    CODES[(a >>> 7) & 31],
    CODES[(a >>> 2) & 31],
    CODES[((a & 3) << 3) | (b >>> 29)],
    CODES[(b >>> 24) & 31],
    CODES[(b >>> 19) & 31],
    CODES[(b >>> 14) & 31],
    CODES[(b >>> 9) & 31],
    CODES[(b >>> 4) & 31],
    CODES[((b & 15) << 1) | (c >>> 31)],
    CODES[(c >>> 26) & 31],
    CODES[(c >>> 21) & 31],
    CODES[(c >>> 16) & 31],
  );
}

/** kube-proxy's portProtoHash: the 16-character suffix of a Service port's chains. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  if (jsSha256(servicePortName, protocol)) return base32FromState();
  return base32Prefix16(nodeSha256(servicePortName + protocol));
}

/** The 16-character suffix of an endpoint's KUBE-SEP- chain (`endpoint` is "ip:port"). */
export function endpointHash(servicePortName: string, protocol: string, endpoint: string): string {
  if (jsSha256(servicePortName, protocol, endpoint)) return base32FromState();
  return base32Prefix16(nodeSha256(servicePortName + protocol + endpoint));
}
