/**
 * A validator that already committed a height answers a vote for it with the decision (the
 * pre-prepare and Q commits) only when that vote arrives a second time. The first arrival is
 * ordinary lateness — with N validators, N − Q votes of every phase arrive after a quorum
 * decided — while a repeat comes from the peer's retransmission tick, so the peer is stuck.
 * Answering every late vote made help answers 7 of every 8 messages at N = 64
 * (`bench/consensus-scaling.ts`).
 */
import { describe, expect, it } from "vitest";
import { createPbftConfig } from "../../src/consensus/pbft/config.js";
import {
  type CommittedHead,
  createPbftMachine,
  type PbftOutput,
} from "../../src/consensus/pbft/machine.js";
import {
  type PbftMessage,
  type SignedMessage,
  signMessage,
} from "../../src/consensus/pbft/messages.js";
import { SimKeys } from "../sim/sim-auth.js";

const CHAIN = "help-test";
const IDS = ["v0", "v1", "v2", "v3"];
const GENESIS: CommittedHead = { seq: 0, blockId: "genesis", stateRoot: "root0" };
const keys = new SimKeys(3);

const signed = (sender: string, message: PbftMessage): SignedMessage =>
  signMessage(message, sender, CHAIN, keys.authenticator(sender));

const sends = (outputs: readonly PbftOutput[]) =>
  outputs.filter((o): o is Extract<PbftOutput, { kind: "send" }> => o.kind === "send");

/** v0, primary of view 0, with block b1 committed on votes of v1 and v2 (v3 was late). */
function primaryThatCommittedB1() {
  const machine = createPbftMachine({
    config: createPbftConfig({
      chainId: CHAIN,
      validators: IDS.map((id) => ({ id, publicKey: id })),
    }),
    self: "v0",
    sign: (message) => signMessage(message, "v0", CHAIN, keys.authenticator("v0")),
    head: GENESIS,
    genesis: GENESIS,
  });
  machine.start();
  machine.step({ kind: "pending-work", pending: true });
  const proposal = { blockId: "b1", parentId: "genesis", payload: new TextEncoder().encode("b1") };
  machine.step({ kind: "built", view: 0, seq: 1, proposal });
  for (const peer of ["v1", "v2"])
    machine.step({
      kind: "message",
      message: signed(peer, { type: "prepare", view: 0, seq: 1, blockId: "b1" }),
    });
  const decided: PbftOutput[] = [];
  for (const peer of ["v1", "v2"])
    decided.push(
      ...machine.step({
        kind: "message",
        message: signed(peer, { type: "commit", view: 0, seq: 1, blockId: "b1" }),
      }),
    );
  expect(decided.some((o) => o.kind === "commit")).toBe(true);
  machine.step({ kind: "committed", head: { seq: 1, blockId: "b1", stateRoot: "root1" } });
  expect(machine.status().committed.seq).toBe(1);
  return machine;
}

describe("PBFT machine: help for validators behind", () => {
  it("answers a late vote for a committed height only when it is sent again", () => {
    const machine = primaryThatCommittedB1();
    const lateCommit = signed("v3", { type: "commit", view: 0, seq: 1, blockId: "b1" });
    expect(sends(machine.step({ kind: "message", message: lateCommit }))).toEqual([]);

    // v3 re-sends it on its retransmission tick: it has not decided, so it gets the decision.
    const help = sends(machine.step({ kind: "message", message: lateCommit }));
    expect(help.every((o) => o.to === "v3" && o.relay === true)).toBe(true);
    expect(help.map((o) => o.message.message.type).sort()).toEqual([
      "commit",
      "commit",
      "commit",
      "pre-prepare",
    ]);
  });

  it("counts each vote on its own: a late prepare and a late commit are both first arrivals", () => {
    const machine = primaryThatCommittedB1();
    const prepare = signed("v3", { type: "prepare", view: 0, seq: 1, blockId: "b1" });
    const commit = signed("v3", { type: "commit", view: 0, seq: 1, blockId: "b1" });
    expect(sends(machine.step({ kind: "message", message: prepare }))).toEqual([]);
    expect(sends(machine.step({ kind: "message", message: commit }))).toEqual([]);
    expect(sends(machine.step({ kind: "message", message: prepare }))).toHaveLength(4);
  });

  it("never answers a relayed vote, however often it arrives", () => {
    const machine = primaryThatCommittedB1();
    const relayed = signed("v3", { type: "commit", view: 0, seq: 1, blockId: "b1" });
    for (let i = 0; i < 3; i++)
      expect(sends(machine.step({ kind: "message", message: relayed, relayed: true }))).toEqual([]);
  });
});
