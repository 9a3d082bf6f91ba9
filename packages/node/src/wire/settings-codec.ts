/**
 * Encoders and decoders of the settings family's messages (Sawtooth setting.proto and
 * settings.proto), so that `sawset` and other Sawtooth settings clients work unchanged. Enum
 * values `ACTION_UNSET` / `VOTE_UNSET` and unknown numbers do not decode: Sawtooth's settings
 * processor rejects such payloads, and an `UNDECODABLE` payload is an invalid transaction.
 */
import {
  decodeFields,
  encodeFields,
  enumNumber,
  type Fields,
  readBytes,
  readEnum,
  readMessage,
  readMessages,
  readString,
  undecodable,
} from "./proto.js";
import type { WireMessageType } from "./schema.js";
import type {
  Setting,
  SettingCandidate,
  SettingCandidates,
  SettingProposal,
  SettingsAction,
  SettingsPayload,
  SettingVote,
  SettingVoteValue,
} from "./types.js";

const ACTIONS = { PROPOSE: 1, VOTE: 2 } as const;
const VOTES = { ACCEPT: 1, REJECT: 2 } as const;

function toAction(value: number): SettingsAction {
  if (value === ACTIONS.PROPOSE) return "PROPOSE";
  if (value === ACTIONS.VOTE) return "VOTE";
  throw undecodable("SettingsPayload", undefined, `action ${value} is neither PROPOSE nor VOTE`);
}

function toVote(value: number, type: WireMessageType): SettingVoteValue {
  if (value === VOTES.ACCEPT) return "ACCEPT";
  if (value === VOTES.REJECT) return "REJECT";
  throw undecodable(type, undefined, `vote ${value} is neither ACCEPT nor REJECT`);
}

function toProposal(m: Fields | undefined): SettingProposal {
  // An absent sub-message reads as its defaults, as in Sawtooth's Python processor.
  if (m === undefined) return { setting: "", value: "", nonce: "" };
  return {
    setting: readString(m, "setting"),
    value: readString(m, "value"),
    nonce: readString(m, "nonce"),
  };
}

/** Encodes a `Setting` (the value stored at a settings address). */
export function encodeSetting(setting: Setting): Uint8Array {
  return encodeFields("Setting", setting);
}

/** Decodes a `Setting`; throws `UNDECODABLE`. */
export function decodeSetting(bytes: Uint8Array): Setting {
  const entries = readMessages(decodeFields("Setting", bytes), "entries");
  return {
    entries: entries.map((e) => ({ key: readString(e, "key"), value: readString(e, "value") })),
  };
}

/** Encodes a `SettingsPayload`. */
export function encodeSettingsPayload(payload: SettingsPayload): Uint8Array {
  return encodeFields("SettingsPayload", {
    action: enumNumber(ACTIONS, payload.action, "SettingsPayload"),
    data: payload.data,
  });
}

/** Decodes a `SettingsPayload`; throws `UNDECODABLE` (also for an unset or unknown action). */
export function decodeSettingsPayload(bytes: Uint8Array): SettingsPayload {
  const m = decodeFields("SettingsPayload", bytes);
  return { action: toAction(readEnum(m, "action")), data: readBytes(m, "data") };
}

/** Encodes a `SettingProposal`. */
export function encodeSettingProposal(proposal: SettingProposal): Uint8Array {
  return encodeFields("SettingProposal", proposal);
}

/** Decodes a `SettingProposal`; throws `UNDECODABLE`. */
export function decodeSettingProposal(bytes: Uint8Array): SettingProposal {
  return toProposal(decodeFields("SettingProposal", bytes));
}

/** Encodes a `SettingVote`. */
export function encodeSettingVote(vote: SettingVote): Uint8Array {
  return encodeFields("SettingVote", {
    proposalId: vote.proposalId,
    vote: enumNumber(VOTES, vote.vote, "SettingVote"),
  });
}

/** Decodes a `SettingVote`; throws `UNDECODABLE` (also for an unset or unknown vote). */
export function decodeSettingVote(bytes: Uint8Array): SettingVote {
  const m = decodeFields("SettingVote", bytes);
  return {
    proposalId: readString(m, "proposalId"),
    vote: toVote(readEnum(m, "vote"), "SettingVote"),
  };
}

function fromCandidate(candidate: SettingCandidate): Record<string, unknown> {
  return {
    proposalId: candidate.proposalId,
    proposal: candidate.proposal,
    votes: candidate.votes.map((v) => ({
      publicKey: v.publicKey,
      vote: enumNumber(VOTES, v.vote, "SettingCandidate"),
    })),
  };
}

function toCandidate(m: Fields): SettingCandidate {
  return {
    proposalId: readString(m, "proposalId"),
    proposal: toProposal(readMessage(m, "proposal")),
    votes: readMessages(m, "votes").map((v) => ({
      publicKey: readString(v, "publicKey"),
      vote: toVote(readEnum(v, "vote"), "SettingCandidate"),
    })),
  };
}

/** Encodes a `SettingCandidate`. */
export function encodeSettingCandidate(candidate: SettingCandidate): Uint8Array {
  return encodeFields("SettingCandidate", fromCandidate(candidate));
}

/** Decodes a `SettingCandidate`; throws `UNDECODABLE`. */
export function decodeSettingCandidate(bytes: Uint8Array): SettingCandidate {
  return toCandidate(decodeFields("SettingCandidate", bytes));
}

/** Encodes `SettingCandidates` (the proposals under vote, stored at one settings address). */
export function encodeSettingCandidates(candidates: SettingCandidates): Uint8Array {
  return encodeFields("SettingCandidates", {
    candidates: candidates.candidates.map(fromCandidate),
  });
}

/** Decodes `SettingCandidates`; throws `UNDECODABLE`. */
export function decodeSettingCandidates(bytes: Uint8Array): SettingCandidates {
  return {
    candidates: readMessages(decodeFields("SettingCandidates", bytes), "candidates").map(
      toCandidate,
    ),
  };
}
