/** IPv4 addresses as unsigned 32-bit integers, and CIDR ranges over them. */

export interface Cidr {
  /** The network address (host bits cleared), unsigned. */
  base: number;
  prefix: number;
  /** Number of addresses in the range. */
  size: number;
  text: string;
}

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted quad; returns null when it is not one. */
export function tryParseIPv4(text: string): number | null {
  const m = QUAD.exec(text);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return null;
    v = v * 256 + octet;
  }
  return v;
}

export function parseIPv4(text: string): number {
  const v = tryParseIPv4(text);
  if (v === null) throw new RangeError(`not an IPv4 address: ${JSON.stringify(text)}`);
  return v;
}

export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Parses `a.b.c.d/n`; returns null when it is not a CIDR. */
export function tryParseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const addr = tryParseIPv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (addr === null || !/^\d{1,2}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  const base = addr - (addr % size);
  return { base, prefix, size, text: `${formatIPv4(base)}/${prefix}` };
}

export function parseCidr(text: string): Cidr {
  const c = tryParseCidr(text);
  if (c === null) throw new RangeError(`not an IPv4 CIDR: ${JSON.stringify(text)}`);
  return c;
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.base && ip < cidr.base + cidr.size;
}
