/**
 * Randomness is injected like time, so simulations replay from a seed. Key generation uses
 * the operating system's CSPRNG through the crypto suites, never this interface.
 */
import { randomBytes } from "node:crypto";

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  /** `length` random bytes (not for keys). */
  bytes(length: number): Uint8Array;
}

/** Random numbers from the OS CSPRNG. */
export const systemRandom: Random = {
  next: () => randomBytes(4).readUInt32BE(0) / 2 ** 32,
  int: (max) => Math.floor((randomBytes(4).readUInt32BE(0) / 2 ** 32) * max),
  bytes: (length) => new Uint8Array(randomBytes(length)),
};

/** A seeded generator (xoshiro128**), reproducible across runs and platforms. */
export function createSeededRandom(seed: number): Random {
  // splitmix32 expands the seed into the four state words.
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const next = (): number => nextU32() / 2 ** 32;
  return {
    next,
    int: (max) => Math.floor(next() * max),
    bytes: (length) => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = nextU32() & 0xff;
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
