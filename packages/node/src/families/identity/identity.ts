/**
 * The `identity` family: organisations (departments, enterprises) and their agents, with the
 * roles of seed 004 (S4.1):
 *
 * - `system_admin` governs the network: creates organisations and their administrators.
 * - `org_admin` (business administrator) has all rights of its organisation and manages its
 *   operators.
 * - `operator` acts for its organisation within the rights families grant it.
 * - `auditor` (tracer): regulators and auditors who read and trace; no write rights of its own.
 *
 * An identity is a key pair; an agent record binds a public key to a name, an organisation and
 * roles. Other families ask for it through `TransactionContext.signerIdentity()`.
 *
 * Addresses: namespace (first 6 hex of SHA-512("identity")), then a 2-hex group —
 * `00` organisation (+ first 62 hex of SHA-512(organisation id)), `01` agent (+ first 62 hex of
 * SHA-512(public key hex)).
 */
import { z } from "zod";
import { familyNamespace, sha512Hex } from "../../execution/address.js";
import {
  InvalidTransaction,
  type SignerIdentity,
  type TransactionContext,
  type TransactionFamily,
} from "../../execution/family.js";
import { decodePayload, decodeRecord, encodeCbor } from "../payload.js";

export const IDENTITY_FAMILY = "identity";
export const IDENTITY_VERSION = "1.0";
export const IDENTITY_NAMESPACE = familyNamespace(IDENTITY_FAMILY);

/** The roles of S4.1. */
export const ROLES = ["system_admin", "org_admin", "operator", "auditor"] as const;
export type Role = (typeof ROLES)[number];

/** Roles an organisation administrator may grant inside its own organisation. */
const ORG_GRANTABLE: readonly Role[] = ["org_admin", "operator"];

const ORGANISATION_GROUP = "00";
const AGENT_GROUP = "01";

/** Address of an organisation record. */
export function organisationAddress(organisationId: string): string {
  return IDENTITY_NAMESPACE + ORGANISATION_GROUP + sha512Hex(organisationId).slice(0, 62);
}

/** Address of an agent record. */
export function agentAddress(publicKey: string): string {
  return IDENTITY_NAMESPACE + AGENT_GROUP + sha512Hex(publicKey).slice(0, 62);
}

const organisationId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    "organisation ids are 1-64 characters of a-z, 0-9, '.', '_', '-'",
  );
const displayName = z.string().min(1).max(200);
const publicKeyHex = z
  .string()
  .regex(/^(?:[0-9a-f]{64}|0[23][0-9a-f]{64})$/, "public keys are lower-case hex (32 or 33 bytes)");
const role = z.enum(ROLES);
const organisationKind = z.enum(["department", "enterprise", "regulator", "other"]);

/** A stored organisation. */
export const organisationRecord = z.strictObject({
  id: organisationId,
  name: displayName,
  kind: organisationKind,
  active: z.boolean(),
  createdAt: z.number().int(),
  createdBy: z.string(),
  updatedAt: z.number().int(),
});
export type OrganisationRecord = z.infer<typeof organisationRecord>;

/** A stored agent. */
export const agentRecord = z.strictObject({
  publicKey: publicKeyHex,
  name: displayName,
  organisationId: organisationId.optional(),
  roles: z.array(role).max(ROLES.length),
  active: z.boolean(),
  createdAt: z.number().int(),
  createdBy: z.string(),
  updatedAt: z.number().int(),
});
export type AgentRecord = z.infer<typeof agentRecord>;

const payloadSchema = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.literal("create_organisation"),
    id: organisationId,
    name: displayName,
    kind: organisationKind.default("department"),
  }),
  z.strictObject({
    action: z.literal("update_organisation"),
    id: organisationId,
    name: displayName.optional(),
    active: z.boolean().optional(),
  }),
  z.strictObject({
    action: z.literal("register_agent"),
    publicKey: publicKeyHex,
    name: displayName,
    organisationId: organisationId.optional(),
    roles: z.array(role).min(1).max(ROLES.length),
  }),
  z.strictObject({
    action: z.literal("update_agent"),
    publicKey: publicKeyHex,
    name: displayName.optional(),
    roles: z.array(role).min(1).max(ROLES.length).optional(),
    active: z.boolean().optional(),
  }),
]);

/** A decoded identity payload. */
export type IdentityPayload = z.input<typeof payloadSchema>;

/** Encodes an identity payload (canonical CBOR). */
export function encodeIdentityPayload(payload: IdentityPayload): Uint8Array {
  return encodeCbor(payload);
}

/** Encodes an agent record as stored. */
export function encodeAgentRecord(record: AgentRecord): Uint8Array {
  return encodeCbor(record);
}

/** Encodes an organisation record as stored. */
export function encodeOrganisationRecord(record: OrganisationRecord): Uint8Array {
  return encodeCbor(record);
}

/** Decodes a stored agent record. */
export function decodeAgentRecord(bytes: Uint8Array): AgentRecord {
  return decodeRecord(bytes, agentRecord);
}

/** Decodes a stored organisation record. */
export function decodeOrganisationRecord(bytes: Uint8Array): OrganisationRecord {
  return decodeRecord(bytes, organisationRecord);
}

/** The signer identity that other families see for an agent record. */
export function toSignerIdentity(record: AgentRecord): SignerIdentity {
  return {
    publicKey: record.publicKey,
    roles: record.roles,
    active: record.active,
    ...(record.organisationId !== undefined ? { organisationId: record.organisationId } : {}),
  };
}

/** The addresses a transaction must declare (inputs and outputs) for a payload. */
export function identityAddresses(payload: IdentityPayload): string[] {
  switch (payload.action) {
    case "create_organisation":
    case "update_organisation":
      return [organisationAddress(payload.id)];
    case "register_agent":
      return payload.organisationId === undefined
        ? [agentAddress(payload.publicKey)]
        : [agentAddress(payload.publicKey), organisationAddress(payload.organisationId)];
    case "update_agent":
      return [agentAddress(payload.publicKey)];
  }
}

const hasRole = (identity: SignerIdentity | undefined, wanted: Role): boolean =>
  identity?.active === true && identity.roles.includes(wanted);

function dedupe(roles: readonly Role[]): Role[] {
  return ROLES.filter((r) => roles.includes(r));
}

/** Checks the role/organisation combination every agent record must satisfy. */
function checkRoleShape(roles: readonly Role[], orgId: string | undefined): void {
  const needsOrg = roles.includes("org_admin") || roles.includes("operator");
  if (needsOrg && orgId === undefined) {
    throw new InvalidTransaction("org_admin and operator agents must belong to an organisation");
  }
}

async function loadOrganisation(
  context: TransactionContext,
  id: string,
): Promise<OrganisationRecord | undefined> {
  const address = organisationAddress(id);
  const bytes = (await context.getState([address])).get(address);
  return bytes ? decodeOrganisationRecord(bytes) : undefined;
}

async function loadAgent(
  context: TransactionContext,
  publicKey: string,
): Promise<AgentRecord | undefined> {
  const address = agentAddress(publicKey);
  const bytes = (await context.getState([address])).get(address);
  return bytes ? decodeAgentRecord(bytes) : undefined;
}

/** The identity family. */
export const identityFamily: TransactionFamily = {
  name: IDENTITY_FAMILY,
  versions: [IDENTITY_VERSION],
  namespaces: [IDENTITY_NAMESPACE],

  checkPayload(request) {
    decodePayload(request.payload, payloadSchema, IDENTITY_FAMILY);
  },

  async apply(request, context) {
    const payload = decodePayload(request.payload, payloadSchema, IDENTITY_FAMILY);
    const signer = await context.signerIdentity();
    const now = context.blockTimeMs;
    const by = context.signerPublicKey;

    switch (payload.action) {
      case "create_organisation": {
        if (!hasRole(signer, "system_admin"))
          throw new InvalidTransaction("only a system administrator may create organisations");
        if (await loadOrganisation(context, payload.id))
          throw new InvalidTransaction(`organisation ${payload.id} already exists`);
        const record: OrganisationRecord = {
          id: payload.id,
          name: payload.name,
          kind: payload.kind,
          active: true,
          createdAt: now,
          createdBy: by,
          updatedAt: now,
        };
        await context.setState([
          [organisationAddress(payload.id), encodeOrganisationRecord(record)],
        ]);
        context.addEvent("identity/organisation-created", [["id", payload.id]]);
        return;
      }
      case "update_organisation": {
        if (!hasRole(signer, "system_admin"))
          throw new InvalidTransaction("only a system administrator may update organisations");
        const existing = await loadOrganisation(context, payload.id);
        if (!existing) throw new InvalidTransaction(`organisation ${payload.id} does not exist`);
        const record: OrganisationRecord = {
          ...existing,
          ...(payload.name !== undefined ? { name: payload.name } : {}),
          ...(payload.active !== undefined ? { active: payload.active } : {}),
          updatedAt: now,
        };
        await context.setState([
          [organisationAddress(payload.id), encodeOrganisationRecord(record)],
        ]);
        context.addEvent("identity/organisation-updated", [["id", payload.id]]);
        return;
      }
      case "register_agent": {
        const roles = dedupe(payload.roles);
        checkRoleShape(roles, payload.organisationId);
        if (await loadAgent(context, payload.publicKey))
          throw new InvalidTransaction(`agent ${payload.publicKey} is already registered`);
        if (payload.organisationId !== undefined) {
          const organisation = await loadOrganisation(context, payload.organisationId);
          if (!organisation)
            throw new InvalidTransaction(`organisation ${payload.organisationId} does not exist`);
          if (!organisation.active)
            throw new InvalidTransaction(`organisation ${payload.organisationId} is not active`);
        }
        authoriseGrant(signer, roles, payload.organisationId);
        const record: AgentRecord = {
          publicKey: payload.publicKey,
          name: payload.name,
          ...(payload.organisationId !== undefined
            ? { organisationId: payload.organisationId }
            : {}),
          roles,
          active: true,
          createdAt: now,
          createdBy: by,
          updatedAt: now,
        };
        await context.setState([[agentAddress(payload.publicKey), encodeAgentRecord(record)]]);
        context.addEvent("identity/agent-registered", [
          ["public_key", payload.publicKey],
          ["roles", roles.join(",")],
        ]);
        return;
      }
      case "update_agent": {
        if (
          payload.publicKey === context.signerPublicKey &&
          (payload.roles !== undefined || payload.active !== undefined)
        ) {
          // Guards against an administrator locking themselves (and maybe everyone) out.
          throw new InvalidTransaction("agents may not change their own roles or status");
        }
        const existing = await loadAgent(context, payload.publicKey);
        if (!existing) throw new InvalidTransaction(`agent ${payload.publicKey} is not registered`);
        const roles = payload.roles !== undefined ? dedupe(payload.roles) : existing.roles;
        checkRoleShape(roles, existing.organisationId);
        // The signer must be allowed to manage the agent both as it is and as it will be.
        authoriseGrant(signer, existing.roles, existing.organisationId);
        authoriseGrant(signer, roles, existing.organisationId);
        const record: AgentRecord = {
          ...existing,
          ...(payload.name !== undefined ? { name: payload.name } : {}),
          ...(payload.active !== undefined ? { active: payload.active } : {}),
          roles,
          updatedAt: now,
        };
        await context.setState([[agentAddress(payload.publicKey), encodeAgentRecord(record)]]);
        context.addEvent("identity/agent-updated", [["public_key", payload.publicKey]]);
        return;
      }
    }
  },
};

/** Throws unless `signer` may hold authority over an agent with `roles` in `orgId`. */
function authoriseGrant(
  signer: SignerIdentity | undefined,
  roles: readonly Role[],
  orgId: string | undefined,
): void {
  if (hasRole(signer, "system_admin")) return;
  if (
    hasRole(signer, "org_admin") &&
    signer?.organisationId !== undefined &&
    signer.organisationId === orgId
  ) {
    const beyond = roles.filter((r) => !ORG_GRANTABLE.includes(r));
    if (beyond.length === 0) return;
    throw new InvalidTransaction(
      `an organisation administrator may not grant or manage roles ${beyond.join(", ")}`,
    );
  }
  throw new InvalidTransaction(
    orgId === undefined
      ? "only a system administrator may manage agents outside organisations"
      : `only a system administrator or an administrator of ${orgId} may manage this agent`,
  );
}

/** Genesis description of identities. */
export interface IdentityGenesis {
  readonly organisations?: readonly {
    id: string;
    name: string;
    kind?: OrganisationRecord["kind"] | undefined;
  }[];
  readonly agents?: readonly {
    publicKey: string;
    name: string;
    organisationId?: string | undefined;
    roles: readonly Role[];
  }[];
}

/** State entries that seed the identity family at genesis. Validates like the family does. */
export function identityGenesisEntries(
  genesis: IdentityGenesis,
  timestampMs: number,
): [string, Uint8Array][] {
  const entries: [string, Uint8Array][] = [];
  const orgIds = new Set<string>();
  for (const org of genesis.organisations ?? []) {
    const record = organisationRecord.parse({
      id: org.id,
      name: org.name,
      kind: org.kind ?? "department",
      active: true,
      createdAt: timestampMs,
      createdBy: "genesis",
      updatedAt: timestampMs,
    });
    if (orgIds.has(record.id))
      throw new InvalidTransaction(`genesis lists organisation ${record.id} twice`);
    orgIds.add(record.id);
    entries.push([organisationAddress(record.id), encodeOrganisationRecord(record)]);
  }
  const keys = new Set<string>();
  for (const agent of genesis.agents ?? []) {
    const record = agentRecord.parse({
      publicKey: agent.publicKey,
      name: agent.name,
      ...(agent.organisationId !== undefined ? { organisationId: agent.organisationId } : {}),
      roles: dedupe(agent.roles),
      active: true,
      createdAt: timestampMs,
      createdBy: "genesis",
      updatedAt: timestampMs,
    });
    checkRoleShape(record.roles, record.organisationId);
    if (record.organisationId !== undefined && !orgIds.has(record.organisationId)) {
      throw new InvalidTransaction(
        `genesis agent ${record.name} names unknown organisation ${record.organisationId}`,
      );
    }
    if (keys.has(record.publicKey))
      throw new InvalidTransaction(`genesis lists agent ${record.publicKey} twice`);
    keys.add(record.publicKey);
    entries.push([agentAddress(record.publicKey), encodeAgentRecord(record)]);
  }
  return entries;
}
