/**
 * The settings family's messages against hand-assembled golden bytes: `sawtooth-sdk` does not
 * ship settings.proto, so the vectors spell out Sawtooth's field numbers and enum values
 * (settings.proto: ACTION_UNSET 0, PROPOSE 1, VOTE 2; VOTE_UNSET 0, ACCEPT 1, REJECT 2).
 */
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/common/bytes.js";
import {
  decodeSetting,
  decodeSettingCandidate,
  decodeSettingCandidates,
  decodeSettingProposal,
  decodeSettingsPayload,
  decodeSettingVote,
  encodeSetting,
  encodeSettingCandidate,
  encodeSettingCandidates,
  encodeSettingProposal,
  encodeSettingsPayload,
  encodeSettingVote,
  type SettingCandidates,
} from "../../src/wire/index.js";

const proposal = { setting: "a", value: "b", nonce: "c" };
const candidates: SettingCandidates = {
  candidates: [{ proposalId: "p", proposal, votes: [{ publicKey: "k", vote: "ACCEPT" }] }],
};

describe("settings codecs", () => {
  it("match golden bytes in both directions", () => {
    const vectors: [Uint8Array, string, unknown, (b: Uint8Array) => unknown][] = [
      [
        encodeSettingsPayload({ action: "PROPOSE", data: new Uint8Array([0xaa]) }),
        "08011201aa",
        { action: "PROPOSE", data: new Uint8Array([0xaa]) },
        decodeSettingsPayload,
      ],
      [
        encodeSettingsPayload({ action: "VOTE", data: new Uint8Array() }),
        "0802",
        { action: "VOTE", data: new Uint8Array() },
        decodeSettingsPayload,
      ],
      [encodeSettingProposal(proposal), "0a01611201621a0163", proposal, decodeSettingProposal],
      [
        encodeSettingVote({ proposalId: "p", vote: "REJECT" }),
        "0a01701002",
        { proposalId: "p", vote: "REJECT" },
        decodeSettingVote,
      ],
      [
        encodeSetting({ entries: [{ key: "k", value: "v" }] }),
        "0a060a016b120176",
        { entries: [{ key: "k", value: "v" }] },
        decodeSetting,
      ],
      [
        encodeSettingCandidates(candidates),
        "0a150a017012090a01611201621a01631a050a016b1001",
        candidates,
        decodeSettingCandidates,
      ],
      [
        encodeSettingCandidate(candidates.candidates[0] ?? { proposalId: "", proposal, votes: [] }),
        "0a017012090a01611201621a01631a050a016b1001",
        candidates.candidates[0],
        decodeSettingCandidate,
      ],
    ];
    for (const [encoded, golden, value, decode] of vectors) {
      expect(toHex(encoded)).toBe(golden);
      expect(decode(fromHex(golden))).toEqual(value);
    }
  });

  it("reads an absent proposal as its defaults", () => {
    expect(decodeSettingCandidate(fromHex("0a0170")).proposal).toEqual({
      setting: "",
      value: "",
      nonce: "",
    });
  });

  it("rejects unset and unknown enum values as UNDECODABLE", () => {
    for (const bytes of ["", "0800", "0803", "1202aabb"]) {
      expect(() => decodeSettingsPayload(fromHex(bytes))).toThrow(
        expect.objectContaining({
          code: "UNDECODABLE",
          context: { messageType: "SettingsPayload" },
        }),
      );
    }
    for (const bytes of ["0a0170", "0a01701003"]) {
      expect(() => decodeSettingVote(fromHex(bytes))).toThrow(
        expect.objectContaining({ code: "UNDECODABLE" }),
      );
    }
    expect(() => decodeSettingCandidates(fromHex("0a051a030a016b"))).toThrow(
      expect.objectContaining({ code: "UNDECODABLE" }),
    );
  });
});
