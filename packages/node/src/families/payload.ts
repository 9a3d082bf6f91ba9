/**
 * Schema-checked decoding of family payloads and state records (canonical CBOR + zod).
 */
import type { z } from "zod";
import { decodeCbor } from "../common/cbor.js";
import { InvalidTransaction } from "../execution/family.js";

export { decodeCbor, encodeCbor } from "../common/cbor.js";

/**
 * Decodes a transaction payload and validates it against `schema`; any failure is an
 * `InvalidTransaction` whose message names the first problem.
 */
export function decodePayload<T>(bytes: Uint8Array, schema: z.ZodType<T>, family: string): T {
  let raw: unknown;
  try {
    raw = decodeCbor(bytes);
  } catch {
    throw new InvalidTransaction(`${family}: payload is not valid CBOR`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new InvalidTransaction(
      `${family}: invalid payload${where}: ${issue?.message ?? "schema mismatch"}`,
    );
  }
  return parsed.data;
}

/** Decodes a state record written by this node's families; throws when it does not match. */
export function decodeRecord<T>(bytes: Uint8Array, schema: z.ZodType<T>): T {
  return schema.parse(decodeCbor(bytes));
}
