/**
 * Deterministic CBOR for family payloads, state records and small internal records. `cborg`
 * writes canonical CBOR (sorted map keys, shortest integers), so the same record always has
 * the same bytes on every node — state roots depend on it. Decoding yields plain objects built
 * from CBOR maps with own properties only, so keys such as `__proto__` stay data.
 */
import { decode, encode } from "cborg";

/** Canonical CBOR of a JSON-like value (objects, arrays, strings, integers, booleans, bytes). */
export function encodeCbor(value: unknown): Uint8Array {
  return encode(value);
}

/** Decodes CBOR, turning maps into plain objects. Throws on malformed input. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return toPlain(decode(bytes, { useMaps: true }));
}

function toPlain(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) {
      Object.defineProperty(out, String(k), {
        value: toPlain(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}
