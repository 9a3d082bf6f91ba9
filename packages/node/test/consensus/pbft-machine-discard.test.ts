/**
 * The machine's record of which blocks were executed must match the candidates its host holds.
 * A block the primary built before a view change started comes back during the view change; it
 * is dropped, but the blocks this node already executed must not be dropped with it: their
 * slots still say "valid", so a NEW-VIEW that re-proposes them would be prepared without
 * executing them again, their children judged invalid ("unknown parent block", one more view
 * change) and their commit refused by the host ("was not validated here"). Seen with four real
 * validators on a busy machine (`bench/recovery.ts`).
 */
import { describe, expect, it } from "vitest";
import { createPbftConfig } from "../../src/consensus/pbft/config.js";
import {
  type CommittedHead,
  createPbftMachine,
  type PbftOutput,
} from "../../src/consensus/pbft/machine.js";
import { type Proposal, signMessage } from "../../src/consensus/pbft/messages.js";
import { SimKeys } from "../sim/sim-auth.js";

const CHAIN = "discard-test";
const IDS = ["v0", "v1", "v2", "v3"];
const GENESIS: CommittedHead = { seq: 0, blockId: "genesis", stateRoot: "root0" };

const proposal = (blockId: string, parentId: string): Proposal => ({
  blockId,
  parentId,
  payload: new TextEncoder().encode(blockId),
});

function primaryOfViewZero() {
  const keys = new SimKeys(1);
  const auth = keys.authenticator("v0");
  return createPbftMachine({
    config: createPbftConfig({
      chainId: CHAIN,
      validators: IDS.map((id) => ({ id, publicKey: id })),
    }),
    self: "v0",
    sign: (message) => signMessage(message, "v0", CHAIN, auth),
    head: GENESIS,
    genesis: GENESIS,
  });
}

const ofKind = <K extends PbftOutput["kind"]>(outputs: readonly PbftOutput[], kind: K) =>
  outputs.filter((o): o is Extract<PbftOutput, { kind: K }> => o.kind === kind);

describe("PBFT machine: candidates dropped after a view change started", () => {
  it("keeps the blocks it executed when a block built in the old view comes back late", () => {
    const machine = primaryOfViewZero();
    machine.start();
    const first = machine.step({ kind: "pending-work", pending: true });
    expect(ofKind(first, "build")).toEqual([
      { kind: "build", view: 0, seq: 1, parentId: "genesis" },
    ]);
    // Block 1 is proposed; the primary goes on building block 2 on it.
    const proposed = machine.step({
      kind: "built",
      view: 0,
      seq: 1,
      proposal: proposal("b1", "genesis"),
    });
    expect(ofKind(proposed, "build")).toEqual([{ kind: "build", view: 0, seq: 2, parentId: "b1" }]);
    // Nothing commits in time: the view changes while block 2 is being built.
    machine.step({ kind: "timer", timer: "view-change" });
    expect(machine.status().phase).toBe("view-change");
    const late = machine.step({
      kind: "built",
      view: 0,
      seq: 2,
      proposal: proposal("b2", "b1"),
    });
    const discards = ofKind(late, "discard");
    expect(discards).toHaveLength(1);
    // b2 was never proposed and goes; b1 was executed and may be re-proposed in the new view.
    expect(discards[0]?.keep).toContain("b1");
    expect(discards[0]?.keep).not.toContain("b2");
  });
});
