/**
 * The settings family, `sawtooth_settings` 1.0, with Sawtooth's payloads, addressing and
 * voting rules, so `sawset` and other Sawtooth settings clients work unchanged.
 *
 * Chain parameters are settings. Keys listed in `sawtooth.settings.vote.authorized_keys`
 * (the administrators) propose changes; a change applies once
 * `sawtooth.settings.vote.approval_threshold` of them accept it (immediately when the threshold
 * is 1). govchain's own parameters live under `govchain.` and are validated here, so a vote can
 * never install a value the node cannot interpret (see `validateGovchainSetting`).
 *
 * Address of a key: `000000` + for each of 4 dot-separated parts (the 4th takes the rest of the
 * key; missing parts are empty) the first 16 hex chars of SHA-256(part).
 */
import { createHash } from "node:crypto";
import {
  InvalidTransaction,
  type TransactionContext,
  type TransactionFamily,
} from "../../execution/family.js";
import {
  decodeSetting,
  decodeSettingCandidates,
  decodeSettingProposal,
  decodeSettingsPayload,
  decodeSettingVote,
  encodeSetting,
  encodeSettingCandidates,
} from "../../wire/index.js";
import type { Setting, SettingCandidate, SettingCandidates } from "../../wire/types.js";
import { validateGovchainSetting } from "./govchain-settings.js";

export const SETTINGS_FAMILY = "sawtooth_settings";
export const SETTINGS_VERSION = "1.0";
export const SETTINGS_NAMESPACE = "000000";

export const AUTHORIZED_KEYS_SETTING = "sawtooth.settings.vote.authorized_keys";
export const APPROVAL_THRESHOLD_SETTING = "sawtooth.settings.vote.approval_threshold";
export const PROPOSALS_SETTING = "sawtooth.settings.vote.proposals";

const MAX_KEY_PARTS = 4;
const shortHash = (part: string): string =>
  createHash("sha256").update(part, "utf8").digest("hex").slice(0, 16);
const EMPTY_PART = shortHash("");

// Addresses of the keys read on every transaction (family policies, at admission and in
// execution) are asked for thousands of times a second; hashing four parts each time was ~3 %
// of a validator's CPU. Keys come from code and from settings votes, so a small bound suffices.
const ADDRESS_CACHE_SIZE = 1_024;
const addressCache = new Map<string, string>();

/** The state address of a setting key. */
export function settingAddress(key: string): string {
  const cached = addressCache.get(key);
  if (cached !== undefined) return cached;
  const address = computeSettingAddress(key);
  if (addressCache.size >= ADDRESS_CACHE_SIZE) addressCache.clear();
  addressCache.set(key, address);
  return address;
}

function computeSettingAddress(key: string): string {
  const parts = key.split(".");
  const head = parts.slice(0, MAX_KEY_PARTS - 1);
  const rest = parts.slice(MAX_KEY_PARTS - 1);
  const keyParts = rest.length > 0 ? [...head, rest.join(".")] : head;
  const hashed = keyParts.map(shortHash);
  while (hashed.length < MAX_KEY_PARTS) hashed.push(EMPTY_PART);
  return SETTINGS_NAMESPACE + hashed.join("");
}

/** The value of `key` in a stored Setting (entries exist for colliding keys), if present. */
export function settingValue(stored: Uint8Array | undefined, key: string): string | undefined {
  if (!stored) return undefined;
  return decodeSetting(stored).entries.find((e) => e.key === key)?.value;
}

/** Splits a comma-separated list, trimming and dropping empty items (Sawtooth's rule). */
export function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

async function getValue(context: TransactionContext, key: string): Promise<string | undefined> {
  const address = settingAddress(key);
  return settingValue((await context.getState([address])).get(address), key);
}

async function setValue(context: TransactionContext, key: string, value: string): Promise<void> {
  const address = settingAddress(key);
  const stored = (await context.getState([address])).get(address);
  const setting: Setting = stored ? decodeSetting(stored) : { entries: [] };
  const entries = setting.entries.some((e) => e.key === key)
    ? setting.entries.map((e) => (e.key === key ? { key, value } : e))
    : [...setting.entries, { key, value }];
  await context.setState([[address, encodeSetting({ entries })]]);
  context.addEvent("settings/update", [["updated", key]]);
}

async function getCandidates(context: TransactionContext): Promise<SettingCandidates> {
  const value = await getValue(context, PROPOSALS_SETTING);
  if (!value) return { candidates: [] };
  return decodeSettingCandidates(new Uint8Array(Buffer.from(value, "base64")));
}

async function saveCandidates(
  context: TransactionContext,
  candidates: SettingCandidates,
): Promise<void> {
  await setValue(
    context,
    PROPOSALS_SETTING,
    Buffer.from(encodeSettingCandidates(candidates)).toString("base64"),
  );
}

async function approvalThreshold(context: TransactionContext): Promise<number> {
  const value = await getValue(context, APPROVAL_THRESHOLD_SETTING);
  if (value === undefined) return 1;
  const parsed = Number.parseInt(value, 10);
  return Number.isFinite(parsed) ? parsed : 1;
}

/** Checks a proposed setting as Sawtooth does, plus govchain's own parameters. */
function validateSetting(authKeys: readonly string[], setting: string, value: string): void {
  if (authKeys.length === 0 && setting !== AUTHORIZED_KEYS_SETTING) {
    throw new InvalidTransaction(`Cannot set ${setting} until authorized_keys is set.`);
  }
  if (setting.length === 0) throw new InvalidTransaction("setting key must not be empty");
  if (setting === AUTHORIZED_KEYS_SETTING && splitList(value).length === 0) {
    throw new InvalidTransaction("authorized_keys must not be empty.");
  }
  if (setting === APPROVAL_THRESHOLD_SETTING) {
    if (!/^\s*[+-]?\d+\s*$/.test(value))
      throw new InvalidTransaction("approval_threshold must be an integer");
    const threshold = Number.parseInt(value, 10);
    if (threshold > authKeys.length) {
      throw new InvalidTransaction(
        "approval_threshold must be less than or equal to number of authorized_keys",
      );
    }
    if (threshold < 1) throw new InvalidTransaction("approval_threshold must be at least 1");
  }
  if (setting === PROPOSALS_SETTING)
    throw new InvalidTransaction(`Setting ${PROPOSALS_SETTING} is read-only`);
  const problem = validateGovchainSetting(setting, value);
  if (problem !== undefined) throw new InvalidTransaction(`${setting}: ${problem}`);
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The settings family. */
export const settingsFamily: TransactionFamily = {
  name: SETTINGS_FAMILY,
  versions: [SETTINGS_VERSION],
  namespaces: [SETTINGS_NAMESPACE],

  checkPayload(request) {
    try {
      const payload = decodeSettingsPayload(request.payload);
      if (payload.action === "PROPOSE") decodeSettingProposal(payload.data);
      else decodeSettingVote(payload.data);
    } catch (err) {
      throw new InvalidTransaction(
        `sawtooth_settings: payload does not decode: ${(err as Error).message}`,
      );
    }
  },

  async apply(request, context) {
    const signer = context.signerPublicKey;
    const authKeys = splitList(await getValue(context, AUTHORIZED_KEYS_SETTING));
    if (authKeys.length > 0 && !authKeys.includes(signer)) {
      throw new InvalidTransaction(`${signer} is not authorized to change settings`);
    }
    let payload: ReturnType<typeof decodeSettingsPayload>;
    try {
      payload = decodeSettingsPayload(request.payload);
    } catch {
      throw new InvalidTransaction("'action' must be one of {PROPOSE, VOTE} in 'Ballot' mode");
    }

    if (payload.action === "PROPOSE") {
      let proposal: ReturnType<typeof decodeSettingProposal>;
      try {
        proposal = decodeSettingProposal(payload.data);
      } catch {
        throw new InvalidTransaction("SettingProposal does not decode");
      }
      const proposalId = sha256Hex(payload.data);
      validateSetting(authKeys, proposal.setting, proposal.value);
      const threshold = await approvalThreshold(context);
      if (threshold > 1) {
        const { candidates } = await getCandidates(context);
        if (candidates.some((c) => c.proposalId === proposalId)) {
          throw new InvalidTransaction(`Duplicate proposal for ${proposal.setting}`);
        }
        const candidate: SettingCandidate = {
          proposalId,
          proposal,
          votes: [{ publicKey: signer, vote: "ACCEPT" }],
        };
        await saveCandidates(context, { candidates: [...candidates, candidate] });
        context.addEvent("settings/proposal", [
          ["proposal_id", proposalId],
          ["setting", proposal.setting],
        ]);
      } else {
        await setValue(context, proposal.setting, proposal.value);
      }
      return;
    }

    let vote: ReturnType<typeof decodeSettingVote>;
    try {
      vote = decodeSettingVote(payload.data);
    } catch {
      throw new InvalidTransaction("SettingVote does not decode");
    }
    const { candidates } = await getCandidates(context);
    const index = candidates.findIndex((c) => c.proposalId === vote.proposalId);
    const candidate = candidates[index];
    if (candidate === undefined)
      throw new InvalidTransaction(`Proposal ${vote.proposalId} does not exist.`);
    if (candidate.votes.some((v) => v.publicKey === signer))
      throw new InvalidTransaction(`${signer} has already voted`);
    const votes = [...candidate.votes, { publicKey: signer, vote: vote.vote }];
    const accepted = votes.filter((v) => v.vote === "ACCEPT").length;
    const rejected = votes.filter((v) => v.vote === "REJECT").length;
    const threshold = await approvalThreshold(context);
    const remaining = candidates.filter((_, i) => i !== index);
    if (accepted >= threshold) {
      // Re-check: the setting may have become invalid since it was proposed.
      validateSetting(authKeys, candidate.proposal.setting, candidate.proposal.value);
      await setValue(context, candidate.proposal.setting, candidate.proposal.value);
      await saveCandidates(context, { candidates: remaining });
    } else if (rejected >= threshold || accepted + rejected === authKeys.length) {
      await saveCandidates(context, { candidates: remaining });
      context.addEvent("settings/rejected", [["proposal_id", candidate.proposalId]]);
    } else {
      const updated = candidates.map((c, i) => (i === index ? { ...candidate, votes } : c));
      await saveCandidates(context, { candidates: updated });
    }
  },
};

/** State entries that seed settings at genesis (validated like proposals). */
export function settingsGenesisEntries(
  settings: Readonly<Record<string, string>>,
): [string, Uint8Array][] {
  const byAddress = new Map<string, { key: string; value: string }[]>();
  const authKeys = splitList(settings[AUTHORIZED_KEYS_SETTING]);
  for (const key of Object.keys(settings).sort()) {
    const value = settings[key] ?? "";
    // Genesis may set anything a first proposal could; authorized keys count as already set.
    validateSetting(authKeys.length > 0 ? authKeys : ["genesis"], key, value);
    const address = settingAddress(key);
    const list = byAddress.get(address) ?? [];
    list.push({ key, value });
    byAddress.set(address, list);
  }
  return [...byAddress.entries()].map(([address, entries]) => [
    address,
    encodeSetting({ entries }),
  ]);
}

/** Decodes a stored Setting into key/value pairs (for the CLI and API). */
export function decodeSettingEntries(bytes: Uint8Array): { key: string; value: string }[] {
  return decodeSetting(bytes).entries.map((e) => ({ key: e.key, value: e.value }));
}
