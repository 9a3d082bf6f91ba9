/**
 * Sawtooth's IntegerKey family (`intkey` 1.0), exactly as Sawtooth specifies it, so that
 * Sawtooth intkey clients and workload generators run unchanged.
 *
 * Payload: a CBOR map `{Verb, Name, Value}` with Verb `set` | `inc` | `dec`, Name a string of
 * at most 20 characters, Value an integer in [0, 2^32 - 1]. State: at address
 * namespace + last 64 hex chars of SHA-512(Name), a CBOR map `{Name: value}` (names whose
 * addresses collide share the map).
 */
import { decode, encode } from "cborg";
import { familyNamespace, sha512Hex } from "../../execution/address.js";
import {
  InvalidTransaction,
  type TransactionFamily,
  type TransactionRequest,
} from "../../execution/family.js";

export const INTKEY_FAMILY = "intkey";
export const INTKEY_VERSION = "1.0";
/** `1cf126`. */
export const INTKEY_NAMESPACE = familyNamespace(INTKEY_FAMILY);
export const INTKEY_MAX_NAME_LENGTH = 20;
export const INTKEY_MIN_VALUE = 0;
export const INTKEY_MAX_VALUE = 2 ** 32 - 1;

/** An intkey verb. */
export type IntkeyVerb = "set" | "inc" | "dec";

/** A decoded intkey payload. */
export interface IntkeyPayload {
  readonly verb: IntkeyVerb;
  readonly name: string;
  readonly value: number;
}

/** The state address of an intkey name. */
export function intkeyAddress(name: string): string {
  return INTKEY_NAMESPACE + sha512Hex(name).slice(-64);
}

/** Encodes a payload as Sawtooth's intkey clients do (CBOR map with capitalised keys). */
export function encodeIntkeyPayload(payload: IntkeyPayload): Uint8Array {
  return encode({ Verb: payload.verb, Name: payload.name, Value: payload.value });
}

/** Decodes and checks a payload; throws `InvalidTransaction` with Sawtooth's reasons. */
export function decodeIntkeyPayload(bytes: Uint8Array): IntkeyPayload {
  let raw: unknown;
  try {
    raw = decode(bytes, { useMaps: true });
  } catch {
    throw new InvalidTransaction("Invalid payload serialization");
  }
  if (!(raw instanceof Map)) throw new InvalidTransaction("Invalid payload serialization");
  const verb: unknown = raw.get("Verb");
  const name: unknown = raw.get("Name");
  const value: unknown = raw.get("Value");
  if (verb === undefined) throw new InvalidTransaction("Verb is required");
  if (name === undefined) throw new InvalidTransaction("Name is required");
  if (value === undefined) throw new InvalidTransaction("Value is required");
  if (verb !== "set" && verb !== "inc" && verb !== "dec") {
    throw new InvalidTransaction(`Verb must be set, inc, dec, not ${String(verb)}`);
  }
  if (typeof name !== "string" || name.length > INTKEY_MAX_NAME_LENGTH) {
    throw new InvalidTransaction(
      `Name must be a string of no more than ${INTKEY_MAX_NAME_LENGTH} characters`,
    );
  }
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < INTKEY_MIN_VALUE ||
    value > INTKEY_MAX_VALUE
  ) {
    throw new InvalidTransaction(
      `Value must be an integer no less than ${INTKEY_MIN_VALUE} and no greater than ${INTKEY_MAX_VALUE}`,
    );
  }
  return { verb, name, value };
}

/** Decodes the `{name: value}` map stored at an intkey address. */
export function decodeIntkeyState(bytes: Uint8Array): Map<string, number> {
  // Maps, not objects: a name such as "__proto__" must stay an ordinary key.
  const raw: unknown = decode(bytes, { useMaps: true });
  const out = new Map<string, number>();
  if (!(raw instanceof Map)) return out;
  for (const [k, v] of raw) if (typeof k === "string" && typeof v === "number") out.set(k, v);
  return out;
}

function encodeIntkeyState(values: Map<string, number>): Uint8Array {
  return encode(values);
}

/** The intkey family. */
export const intkeyFamily: TransactionFamily = {
  name: INTKEY_FAMILY,
  versions: [INTKEY_VERSION],
  namespaces: [INTKEY_NAMESPACE],

  checkPayload(request: TransactionRequest) {
    decodeIntkeyPayload(request.payload);
  },

  async apply(request, context) {
    const { verb, name, value } = decodeIntkeyPayload(request.payload);
    const address = intkeyAddress(name);
    const stored = (await context.getState([address])).get(address);
    const values = stored ? decodeIntkeyState(stored) : new Map<string, number>();
    const current = values.get(name);

    let next: number;
    if (verb === "set") {
      if (current !== undefined)
        throw new InvalidTransaction(
          `Verb is 'set', but already exists: Name: ${name}, Value ${current}`,
        );
      next = value;
    } else {
      if (current === undefined)
        throw new InvalidTransaction(`Verb is '${verb}' but Name does not exist: Name: ${name}`);
      next = verb === "inc" ? current + value : current - value;
      if (next > INTKEY_MAX_VALUE) {
        throw new InvalidTransaction(
          `Verb is 'inc', but result would be greater than ${INTKEY_MAX_VALUE}`,
        );
      }
      if (next < INTKEY_MIN_VALUE) {
        throw new InvalidTransaction(
          `Verb is 'dec', but result would be less than ${INTKEY_MIN_VALUE}`,
        );
      }
    }
    values.set(name, next);
    await context.setState([[address, encodeIntkeyState(values)]]);
  },
};
