/**
 * govchain's chain parameters, stored as settings under `govchain.` and changed by the
 * administrators' votes. Each known key has a validator, so a vote cannot install a value the
 * nodes cannot interpret; unknown `govchain.` keys are refused to catch typos.
 *
 * Family access policies — `govchain.family.<family>.policy` — say which signers may submit a
 * family's transactions:
 * - `any`: any key (Sawtooth's default; the local network uses it for `intkey`);
 * - `registered`: any active agent of the identity family;
 * - `roles:<role>[,<role>…]`: an active agent holding one of these roles.
 * A family without a policy is `registered`.
 */
import { ROLES, type Role } from "../identity/identity.js";
import { parseMembership } from "./members.js";

/** A parsed family access policy. */
export type FamilyPolicy =
  | { readonly kind: "any" }
  | { readonly kind: "registered" }
  | { readonly kind: "roles"; readonly roles: readonly Role[] };

/** The policy of a family without a `govchain.family.<name>.policy` setting. */
export const DEFAULT_FAMILY_POLICY: FamilyPolicy = { kind: "registered" };

/** Setting key of a family's access policy. */
export function familyPolicyKey(familyName: string): string {
  return `govchain.family.${familyName}.policy`;
}

/** Parses a policy value; undefined when malformed. */
export function parseFamilyPolicy(value: string): FamilyPolicy | undefined {
  const text = value.trim();
  if (text === "any") return { kind: "any" };
  if (text === "registered") return { kind: "registered" };
  if (text.startsWith("roles:")) {
    const roles = text
      .slice("roles:".length)
      .split(",")
      .map((r) => r.trim())
      .filter((r) => r.length > 0);
    if (
      roles.length === 0 ||
      !roles.every((r): r is Role => (ROLES as readonly string[]).includes(r))
    )
      return undefined;
    return { kind: "roles", roles };
  }
  return undefined;
}

const POSITIVE_INT = /^[1-9]\d{0,9}$/;

/** Validators of known `govchain.` settings: return a problem, or undefined when valid. */
const VALIDATORS: readonly { pattern: RegExp; check: (value: string) => string | undefined }[] = [
  {
    pattern: /^govchain\.family\.[A-Za-z0-9_-]{1,64}\.policy$/,
    check: (v) =>
      parseFamilyPolicy(v)
        ? undefined
        : `must be "any", "registered" or "roles:<role>,..." with roles from ${ROLES.join(", ")}`,
  },
  {
    pattern: /^govchain\.block\.max_batches$/,
    check: (v) => (POSITIVE_INT.test(v) ? undefined : "must be a positive integer"),
  },
  {
    pattern: /^govchain\.block\.max_transactions$/,
    check: (v) => (POSITIVE_INT.test(v) ? undefined : "must be a positive integer"),
  },
  {
    pattern: /^govchain\.block\.max_bytes$/,
    check: (v) => (POSITIVE_INT.test(v) ? undefined : "must be a positive integer"),
  },
  {
    pattern: /^govchain\.consensus\.members$/,
    check: (v) => {
      const parsed = parseMembership(v);
      return typeof parsed === "string" ? parsed : undefined;
    },
  },
  {
    pattern: /^govchain\.chain\.name$/,
    check: (v) => (v.length > 0 && v.length <= 200 ? undefined : "must be 1-200 characters"),
  },
];

/** A problem with a `govchain.` setting value, or undefined when valid (or not a govchain key). */
export function validateGovchainSetting(key: string, value: string): string | undefined {
  if (!key.startsWith("govchain.")) return undefined;
  const validator = VALIDATORS.find((v) => v.pattern.test(key));
  if (!validator) return "unknown govchain setting";
  return validator.check(value);
}
