/**
 * `govchain settings propose|vote|list`: on-chain settings through Sawtooth's
 * `sawtooth_settings` family, byte-compatible with `sawset`. Only keys listed in
 * `sawtooth.settings.vote.authorized_keys` may propose or vote; a proposal applies at once when
 * the approval threshold is 1, otherwise it waits for votes.
 */
import type { Command } from "commander";
import { toHex } from "../common/bytes.js";
import { systemRandom } from "../common/random.js";
import { sha256 } from "../crypto/index.js";
import {
  APPROVAL_THRESHOLD_SETTING,
  AUTHORIZED_KEYS_SETTING,
  decodeSettingEntries,
  PROPOSALS_SETTING,
  SETTINGS_FAMILY,
  SETTINGS_NAMESPACE,
  SETTINGS_VERSION,
  settingAddress,
  settingValue,
} from "../families/index.js";
import {
  decodeSettingCandidates,
  encodeSettingProposal,
  encodeSettingsPayload,
  encodeSettingVote,
} from "../wire/index.js";
import type { SettingCandidate, SettingVoteValue } from "../wire/types.js";
import type { ApiClient } from "./client.js";
import { type CliContext, integerIn, withApi, withKey, withWait } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { collectState } from "./state.js";
import {
  buildBatch,
  describeSubmission,
  submissionJson,
  submitAndWait,
  type TransactionSpec,
} from "./submit.js";

/** Inputs and outputs of a settings transaction about `key`, as `sawset` declares them. */
export function settingsAddresses(key: string): string[] {
  return [
    settingAddress(key),
    settingAddress(AUTHORIZED_KEYS_SETTING),
    settingAddress(APPROVAL_THRESHOLD_SETTING),
    settingAddress(PROPOSALS_SETTING),
  ];
}

/** The transaction proposing `key = value`, and the proposal's id (SHA-256 of the proposal). */
export function proposalTransaction(
  key: string,
  value: string,
  nonce: string,
): { tx: TransactionSpec; proposalId: string } {
  const data = encodeSettingProposal({ setting: key, value, nonce });
  const addresses = settingsAddresses(key);
  return {
    proposalId: toHex(sha256(data)),
    tx: {
      familyName: SETTINGS_FAMILY,
      familyVersion: SETTINGS_VERSION,
      inputs: addresses,
      outputs: addresses,
      payload: encodeSettingsPayload({ action: "PROPOSE", data }),
    },
  };
}

/** The proposals under vote. */
export async function pendingProposals(client: ApiClient): Promise<SettingCandidate[]> {
  const found = await client.getState(settingAddress(PROPOSALS_SETTING));
  const value = settingValue(found?.value, PROPOSALS_SETTING);
  if (!value) return [];
  return [...decodeSettingCandidates(new Uint8Array(Buffer.from(value, "base64"))).candidates];
}

/** Registers `govchain settings …`. */
export function registerSettings(program: Command, ctx: CliContext): void {
  const settings = program
    .command("settings")
    .summary("on-chain settings (sawtooth_settings), changed by the administrators' votes");

  withWait(
    withKey(
      withApi(
        settings
          .command("propose")
          .summary("propose a new value for a setting")
          .description(
            "Proposes <key> = <value>, signed by an administrator (authorized_keys). With an approval " +
              "threshold of 1 it applies at once; otherwise other administrators vote on the printed id.",
          )
          .argument("<key>", "setting key, e.g. govchain.family.intkey.policy")
          .argument("<value>", "new value"),
      ),
    ),
  ).action(async (key: string, value: string, opts: { wait: number | false }, command: Command) => {
    if (key.length === 0) throw cliError(CliErrorCode.INVALID_ARGUMENT, "the setting key is empty");
    const signing = await ctx.signingKey(command);
    // A fresh nonce makes a re-proposal of the same value a new proposal (a new id).
    const nonce = toHex(systemRandom.bytes(16));
    const { tx, proposalId } = proposalTransaction(key, value, nonce);
    const result = await submitAndWait(
      ctx.client(command),
      [buildBatch(signing, [tx])],
      opts.wait,
      ctx.output,
      `settings ${key}`,
    );
    ctx.output.result([...describeSubmission(result), `proposal ${proposalId}`], {
      ...(submissionJson(result) as object),
      proposalId,
      key,
      value,
    });
  });

  withWait(
    withKey(
      withApi(
        settings
          .command("vote")
          .summary("vote on a pending proposal")
          .argument("<proposalId>", "id printed by `settings propose` (see `settings list`)")
          .argument("<vote>", "accept or reject"),
      ),
    ),
  ).action(
    async (proposalId: string, vote: string, opts: { wait: number | false }, command: Command) => {
      const choice: SettingVoteValue | undefined =
        vote.toLowerCase() === "accept"
          ? "ACCEPT"
          : vote.toLowerCase() === "reject"
            ? "REJECT"
            : undefined;
      if (choice === undefined)
        throw cliError(CliErrorCode.INVALID_ARGUMENT, `vote must be accept or reject, not ${vote}`);
      const client = ctx.client(command);
      // The vote must declare the proposed setting's address, which only the proposal names.
      const candidate = (await pendingProposals(client)).find((c) => c.proposalId === proposalId);
      if (candidate === undefined)
        throw cliError(CliErrorCode.NOT_FOUND, `no pending proposal ${proposalId}`, { proposalId });
      const addresses = settingsAddresses(candidate.proposal.setting);
      const signing = await ctx.signingKey(command);
      const tx: TransactionSpec = {
        familyName: SETTINGS_FAMILY,
        familyVersion: SETTINGS_VERSION,
        inputs: addresses,
        outputs: addresses,
        payload: encodeSettingsPayload({
          action: "VOTE",
          data: encodeSettingVote({ proposalId, vote: choice }),
        }),
      };
      const result = await submitAndWait(
        client,
        [buildBatch(signing, [tx])],
        opts.wait,
        ctx.output,
        "settings vote",
      );
      ctx.output.result(describeSubmission(result), submissionJson(result));
    },
  );

  withApi(
    settings
      .command("list")
      .summary("list settings and pending proposals")
      .option("--limit <n>", "at most this many settings addresses", integerIn(1, 100_000), 1_000),
  ).action(async (opts: { limit: number }, command: Command) => {
    const client = ctx.client(command);
    const { entries } = await collectState(client, SETTINGS_NAMESPACE, opts.limit);
    const values = entries
      .flatMap((e) => decodeSettingEntries(e.value))
      .filter((e) => e.key !== PROPOSALS_SETTING)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const proposals = await pendingProposals(client);
    ctx.output.result(
      [
        ...values.map((e) => `${e.key} = ${e.value}`),
        ...(proposals.length > 0 ? ["", "pending proposals:"] : []),
        ...proposals.map(
          (p) =>
            `  ${p.proposalId}  ${p.proposal.setting} = ${p.proposal.value}  (${p.votes.filter((v) => v.vote === "ACCEPT").length} accept, ${p.votes.filter((v) => v.vote === "REJECT").length} reject)`,
        ),
      ],
      { settings: values, proposals },
    );
  });
}
