/**
 * `govchain identity org|agent …`: organisations and agents of the identity family. Payloads
 * are built exactly as the family decodes them, and each transaction declares the addresses
 * `identityAddresses(payload)` names, so the executor can run unrelated ones in parallel.
 */
import { existsSync } from "node:fs";
import { type Command, Option } from "commander";
import {
  agentAddress,
  decodeAgentRecord,
  decodeOrganisationRecord,
  encodeIdentityPayload,
  IDENTITY_FAMILY,
  IDENTITY_VERSION,
  type IdentityPayload,
  identityAddresses,
  organisationAddress,
  ROLES,
  type Role,
} from "../families/index.js";
import { type CliContext, loadKey, withApi, withKey, withWait } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import {
  buildBatch,
  describeSubmission,
  submissionJson,
  submitAndWait,
  type TransactionSpec,
} from "./submit.js";

const PUBLIC_KEY = /^(?:[0-9a-f]{64}|0[23][0-9a-f]{64})$/;
const KINDS = ["department", "enterprise", "regulator", "other"] as const;

/** The transaction of one identity payload. */
export function identityTransaction(payload: IdentityPayload): TransactionSpec {
  const addresses = identityAddresses(payload);
  return {
    familyName: IDENTITY_FAMILY,
    familyVersion: IDENTITY_VERSION,
    inputs: addresses,
    outputs: addresses,
    payload: encodeIdentityPayload(payload),
  };
}

/** Parses `r1,r2` into roles; `INVALID_ARGUMENT` names an unknown one. */
export function parseRoles(text: string): Role[] {
  const roles = text
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  const unknown = roles.find((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown !== undefined || roles.length === 0) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `${unknown === undefined ? "no roles given" : `unknown role ${unknown}`}; roles are ${ROLES.join(", ")}`,
    );
  }
  return roles as Role[];
}

/** A public key given as hex, or as the path of a key file whose public key is meant. */
async function resolvePublicKey(ctx: CliContext, given: string): Promise<string> {
  if (PUBLIC_KEY.test(given)) return given;
  if (existsSync(ctx.path(given))) return (await loadKey(ctx.path(given))).signer.publicKeyHex;
  throw cliError(
    CliErrorCode.INVALID_ARGUMENT,
    `${given} is neither a public key (lower-case hex, 32 or 33 bytes) nor a key file`,
  );
}

function parseBoolean(value: string): boolean {
  if (value === "true" || value === "yes") return true;
  if (value === "false" || value === "no") return false;
  throw cliError(CliErrorCode.INVALID_ARGUMENT, `expected true or false, got ${value}`);
}

/** Registers `govchain identity …`. */
export function registerIdentity(program: Command, ctx: CliContext): void {
  const identity = program
    .command("identity")
    .summary("organisations and agents (roles: system_admin, org_admin, operator, auditor)");

  const submit = async (
    command: Command,
    payloads: readonly IdentityPayload[],
    wait: number | false,
  ): Promise<void> => {
    const key = await ctx.signingKey(command);
    const batch = buildBatch(key, payloads.map(identityTransaction));
    const result = await submitAndWait(
      ctx.client(command),
      [batch],
      wait,
      ctx.output,
      `identity ${payloads[0]?.action ?? ""}`,
    );
    ctx.output.result(describeSubmission(result), submissionJson(result));
  };
  const writeCommand = (parent: Command, name: string): Command =>
    withWait(withKey(withApi(parent.command(name))));

  const org = identity.command("org").summary("organisations");
  writeCommand(org, "create")
    .summary("create an organisation (system_admin)")
    .argument("<id>", "organisation id: 1-64 of a-z, 0-9, '.', '_', '-'")
    .argument("<name>", "display name")
    .addOption(
      new Option("--kind <kind>", "kind of organisation").choices(KINDS).default("department"),
    )
    .action(
      async (
        id: string,
        name: string,
        opts: { kind: (typeof KINDS)[number]; wait: number | false },
        command: Command,
      ) => {
        await submit(
          command,
          [{ action: "create_organisation", id, name, kind: opts.kind }],
          opts.wait,
        );
      },
    );

  writeCommand(org, "update")
    .summary("rename, disable or enable an organisation (system_admin)")
    .argument("<id>", "organisation id")
    .option("--name <name>", "new display name")
    .option("--active <bool>", "true to enable, false to disable", parseBoolean)
    .action(
      async (
        id: string,
        opts: { name?: string; active?: boolean; wait: number | false },
        command: Command,
      ) => {
        if (opts.name === undefined && opts.active === undefined) {
          throw cliError(
            CliErrorCode.INVALID_ARGUMENT,
            "nothing to update: give --name and/or --active",
          );
        }
        await submit(
          command,
          [
            {
              action: "update_organisation",
              id,
              ...(opts.name !== undefined ? { name: opts.name } : {}),
              ...(opts.active !== undefined ? { active: opts.active } : {}),
            },
          ],
          opts.wait,
        );
      },
    );

  withApi(
    org.command("show").summary("show an organisation").argument("<id>", "organisation id"),
  ).action(async (id: string, _opts: unknown, command: Command) => {
    const found = await ctx.client(command).getState(organisationAddress(id));
    if (found === undefined)
      throw cliError(CliErrorCode.NOT_FOUND, `organisation ${id} does not exist`, { id });
    const record = decodeOrganisationRecord(found.value);
    ctx.output.result(
      [
        `id        ${record.id}`,
        `name      ${record.name}`,
        `kind      ${record.kind}`,
        `active    ${record.active}`,
        `created   ${new Date(record.createdAt).toISOString()} by ${record.createdBy}`,
        `updated   ${new Date(record.updatedAt).toISOString()}`,
      ],
      { address: organisationAddress(id), ...record },
    );
  });

  const agent = identity
    .command("agent")
    .summary("agents: public keys with names, organisations and roles");
  writeCommand(agent, "register")
    .summary("register an agent (system_admin, or org_admin within its organisation)")
    .argument("<publicKey>", "the agent's public key (hex), or a key file")
    .argument("<name>", "display name")
    .requiredOption("--roles <roles>", `comma-separated roles from ${ROLES.join(", ")}`, parseRoles)
    .option("--org <id>", "the agent's organisation (required for org_admin and operator)")
    .action(
      async (
        given: string,
        name: string,
        opts: { roles: Role[]; org?: string; wait: number | false },
        command: Command,
      ) => {
        const publicKey = await resolvePublicKey(ctx, given);
        await submit(
          command,
          [
            {
              action: "register_agent",
              publicKey,
              name,
              roles: opts.roles,
              ...(opts.org !== undefined ? { organisationId: opts.org } : {}),
            },
          ],
          opts.wait,
        );
      },
    );

  writeCommand(agent, "update")
    .summary("rename an agent, change its roles, or disable/enable it")
    .argument("<publicKey>", "the agent's public key (hex), or a key file")
    .option("--name <name>", "new display name")
    .option("--roles <roles>", "new comma-separated roles", parseRoles)
    .option("--active <bool>", "true to enable, false to disable", parseBoolean)
    .action(
      async (
        given: string,
        opts: { name?: string; roles?: Role[]; active?: boolean; wait: number | false },
        command: Command,
      ) => {
        if (opts.name === undefined && opts.roles === undefined && opts.active === undefined) {
          throw cliError(
            CliErrorCode.INVALID_ARGUMENT,
            "nothing to update: give --name, --roles and/or --active",
          );
        }
        const publicKey = await resolvePublicKey(ctx, given);
        await submit(
          command,
          [
            {
              action: "update_agent",
              publicKey,
              ...(opts.name !== undefined ? { name: opts.name } : {}),
              ...(opts.roles !== undefined ? { roles: opts.roles } : {}),
              ...(opts.active !== undefined ? { active: opts.active } : {}),
            },
          ],
          opts.wait,
        );
      },
    );

  withApi(
    agent
      .command("show")
      .summary("show an agent")
      .argument("<publicKey>", "the agent's public key (hex), or a key file"),
  ).action(async (given: string, _opts: unknown, command: Command) => {
    const publicKey = await resolvePublicKey(ctx, given);
    const found = await ctx.client(command).getState(agentAddress(publicKey));
    if (found === undefined)
      throw cliError(CliErrorCode.NOT_FOUND, `agent ${publicKey} is not registered`, { publicKey });
    const record = decodeAgentRecord(found.value);
    ctx.output.result(
      [
        `public key    ${record.publicKey}`,
        `name          ${record.name}`,
        `organisation  ${record.organisationId ?? "(none)"}`,
        `roles         ${record.roles.join(", ")}`,
        `active        ${record.active}`,
        `created       ${new Date(record.createdAt).toISOString()} by ${record.createdBy}`,
        `updated       ${new Date(record.updatedAt).toISOString()}`,
      ],
      { address: agentAddress(publicKey), ...record },
    );
  });
}
