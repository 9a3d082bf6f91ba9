/**
 * The consensus membership setting, `govchain.consensus.members`: JSON listing the validators
 * and observers, `{"validators":[{"id","publicKey","endpoint"}],"observers":[…]}`. Validated
 * when proposed, so a vote can never install a set the nodes cannot use.
 */
import { z } from "zod";

/** A member of a validator set or observer list. */
export interface Member {
  readonly id: string;
  readonly publicKey: string;
  readonly endpoint?: string;
}

/** The setting that holds the membership. */
export const MEMBERS_SETTING = "govchain.consensus.members";

const member = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  publicKey: z.string().regex(/^[0-9a-f]{64,66}$/),
  endpoint: z
    .string()
    .regex(/^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/)
    .optional(),
});

const membership = z
  .strictObject({
    validators: z.array(member).min(1).max(256),
    observers: z.array(member).max(1024).default([]),
  })
  .refine(
    (m) => {
      const all = [...m.validators, ...m.observers];
      return (
        new Set(all.map((x) => x.id)).size === all.length &&
        new Set(all.map((x) => x.publicKey)).size === all.length
      );
    },
    { message: "ids and public keys must be unique across validators and observers" },
  );

/** Parses a `govchain.consensus.members` value; a problem string when invalid. */
export function parseMembership(
  value: string,
): { validators: Member[]; observers: Member[] } | string {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return 'must be JSON: {"validators":[{"id","publicKey","endpoint"}],"observers":[…]}';
  }
  const parsed = membership.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `${issue?.path.join(".") || "value"}: ${issue?.message ?? "invalid"}`;
  }
  const strip = (m: z.infer<typeof member>): Member => ({
    id: m.id,
    publicKey: m.publicKey,
    ...(m.endpoint ? { endpoint: m.endpoint } : {}),
  });
  return {
    validators: parsed.data.validators.map(strip),
    observers: parsed.data.observers.map(strip),
  };
}
