/**
 * Glue between protobufjs' reflected messages and govchain's typed domain objects. protobufjs
 * returns loosely typed message instances; these helpers narrow each field from `unknown` so
 * that no `any` leaks out, normalise `bytes` to plain `Uint8Array` views (never copies, never
 * `Buffer`) and map `uint64` to `bigint`. Any failure inside protobufjs becomes a
 * `WireValidationError` with code `UNDECODABLE` and the message type.
 */
import { Reader } from "protobufjs";
import { errorMessage } from "../common/errors.js";
import { WireValidationError } from "./errors.js";
import { type WireMessageType, wireType } from "./schema.js";

/** A decoded protobufjs message, seen as a record of unknown fields. */
export type Fields = Readonly<Record<string, unknown>>;

const EMPTY = new Uint8Array(0);
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * A plain `Uint8Array` view of `bytes`. protobufjs reads `Buffer` input with Buffer slices;
 * domain types hold plain arrays, so input is re-viewed (zero-copy) before decoding.
 */
export function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isFields(value: unknown): value is Fields {
  return typeof value === "object" && value !== null;
}

/** Decodes `bytes` as `type`; throws `UNDECODABLE` naming the message type. */
export function decodeFields(type: WireMessageType, bytes: Uint8Array): Fields {
  let message: unknown;
  try {
    message = wireType(type).decode(plainView(bytes));
  } catch (err) {
    throw undecodable(type, err);
  }
  if (!isFields(message)) throw undecodable(type, undefined);
  return message;
}

/** The `UNDECODABLE` error of `type`, keeping protobufjs' reason as the cause. */
export function undecodable(
  type: WireMessageType,
  cause: unknown,
  reason?: string,
): WireValidationError {
  const detail = reason ?? (cause === undefined ? "not a message" : errorMessage(cause));
  return new WireValidationError(
    "UNDECODABLE",
    `cannot decode ${type}: ${detail}`,
    { messageType: type },
    { cause },
  );
}

/** Encodes a plain object of `type`'s fields (defaults omitted by proto3 rules). */
export function encodeFields(type: WireMessageType, fields: object): Uint8Array {
  return plainView(wireType(type).encode(fields).finish());
}

/** A `string` field; the proto3 default `""` when absent. */
export function readString(m: Fields, key: string): string {
  const v = m[key];
  return typeof v === "string" ? v : "";
}

function isStringArray(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (typeof x !== "string") return false;
  return true;
}

/** A `repeated string` field; `[]` when absent. */
export function readStrings(m: Fields, key: string): string[] {
  const v = m[key];
  return isStringArray(v) ? v : [];
}

/** A `bytes` field as a plain `Uint8Array` view; empty when absent. */
export function readBytes(m: Fields, key: string): Uint8Array {
  const v = m[key];
  // protobufjs' default for an absent bytes field is an empty plain Array, not a Uint8Array.
  return v instanceof Uint8Array ? plainView(v) : EMPTY;
}

/** A `repeated bytes` field. */
export function readBytesList(m: Fields, key: string): Uint8Array[] {
  const v = m[key];
  if (!Array.isArray(v)) return [];
  const out: Uint8Array[] = [];
  for (const x of v) out.push(x instanceof Uint8Array ? plainView(x) : EMPTY);
  return out;
}

/** A `bool` field. */
export function readBool(m: Fields, key: string): boolean {
  return m[key] === true;
}

/** An enum field as its numeric value (0 when absent). */
export function readEnum(m: Fields, key: string): number {
  const v = m[key];
  return typeof v === "number" ? v : 0;
}

/** A `repeated` message field. */
export function readMessages(m: Fields, key: string): Fields[] {
  const v = m[key];
  if (!Array.isArray(v)) return [];
  const out: Fields[] = [];
  for (const x of v) if (isFields(x)) out.push(x);
  return out;
}

/** A singular message field, or undefined when absent. */
export function readMessage(m: Fields, key: string): Fields | undefined {
  const v = m[key];
  return isFields(v) ? v : undefined;
}

/** A `uint64` field as a bigint. protobufjs yields a `Long` (or a number without long.js). */
export function readUint64(m: Fields, key: string): bigint {
  const v = m[key];
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "bigint") return v;
  if (isFields(v) && typeof v.low === "number" && typeof v.high === "number") {
    return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  }
  return 0n;
}

/**
 * A bigint as protobufjs' `{low, high}` long bits; protobufjs' writer does not take bigints
 * (it silently writes 0). Throws `UNENCODABLE` outside the uint64 range.
 */
export function uint64Bits(
  value: bigint,
  type: WireMessageType,
  field: string,
): { low: number; high: number; unsigned: true } {
  if (value < 0n || value > UINT64_MAX) {
    throw new WireValidationError("UNENCODABLE", `${type}.${field} is outside the uint64 range`, {
      messageType: type,
    });
  }
  return { low: Number(value & 0xffffffffn) | 0, high: Number(value >> 32n) | 0, unsigned: true };
}

/** Enum name → number; throws `UNENCODABLE` for a name the schema does not know. */
export function enumNumber<N extends string>(
  values: Readonly<Record<N, number>>,
  name: N,
  type: WireMessageType,
): number {
  const v = values[name];
  if (typeof v !== "number")
    throw new WireValidationError("UNENCODABLE", `${type}: unknown enum value ${String(name)}`, {
      messageType: type,
    });
  return v;
}

/**
 * Lengths of the occurrences of length-delimited field `field` at the top level of `bytes`, in
 * order, found by skipping (not decoding) everything else. protobufjs' decoder appends repeated
 * message fields in the same order, so `lengths[i]` is the encoded size of element `i`. This is
 * how batch sizes come from the input bytes without re-encoding.
 */
export function fieldLengths(
  type: WireMessageType,
  bytes: Uint8Array,
  field: number,
  each?: (length: number, index: number) => void,
): number[] {
  const lengths: number[] = [];
  try {
    const reader = Reader.create(plainView(bytes));
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const wire = tag & 7;
      if (tag >>> 3 === field && wire === 2) {
        const length = reader.uint32();
        if (reader.pos + length > reader.len) throw new RangeError("length beyond end of input");
        each?.(length, lengths.length);
        lengths.push(length);
        reader.pos += length;
      } else {
        reader.skipType(wire);
      }
    }
  } catch (err) {
    if (err instanceof WireValidationError) throw err;
    throw undecodable(type, err);
  }
  return lengths;
}
