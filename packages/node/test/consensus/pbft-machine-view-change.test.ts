/**
 * A validator moves past a view once a quorum has joined it — counting validators that already
 * asked for a later view, which joined this one on their way. Without that, a VIEW-CHANGE lost
 * in a disconnection deadlocked three live validators out of four for good: one had moved on to
 * view v + 1 (it had seen the quorum for v), the two others waited in v for its lost VIEW-CHANGE
 * for v, which it never sends again, and one validator in v + 1 is too few to make them join
 * (f + 1). Seen with four real validators, one stopped, under load (`bench/recovery.ts`).
 */
import { describe, expect, it } from "vitest";
import { createPbftConfig } from "../../src/consensus/pbft/config.js";
import { type CommittedHead, createPbftMachine } from "../../src/consensus/pbft/machine.js";
import { type SignedMessage, signMessage } from "../../src/consensus/pbft/messages.js";
import { SimKeys } from "../sim/sim-auth.js";

const CHAIN = "view-change-test";
const IDS = ["v0", "v1", "v2", "v3"];
const GENESIS: CommittedHead = { seq: 0, blockId: "genesis", stateRoot: "root0" };
const keys = new SimKeys(2);

function viewChange(sender: string, view: number): SignedMessage {
  return signMessage(
    {
      type: "view-change",
      view,
      stable: { seq: 0, blockId: "genesis", stateRoot: "root0", proof: [] },
      prepared: [],
    },
    sender,
    CHAIN,
    keys.authenticator(sender),
  );
}

describe("PBFT machine: moving past a view change", () => {
  it("counts a validator that asked for a later view as having joined this one", () => {
    const machine = createPbftMachine({
      config: createPbftConfig({
        chainId: CHAIN,
        validators: IDS.map((id) => ({ id, publicKey: id })),
      }),
      self: "v2",
      sign: (message) => signMessage(message, "v2", CHAIN, keys.authenticator("v2")),
      head: GENESIS,
      genesis: GENESIS,
    });
    machine.start();
    machine.step({ kind: "pending-work", pending: true });
    // The primary of view 0 (v0) stays silent: v2 asks for view 1.
    machine.step({ kind: "timer", timer: "view-change" });
    expect(machine.status()).toMatchObject({ view: 1, phase: "view-change" });
    // v3 joins view 1; v0 already asks for view 2 (its VIEW-CHANGE for 1 was lost); v1, the
    // primary of view 1, is down. One validator above view 1 is not f + 1: v2 stays in view 1.
    machine.step({ kind: "message", message: viewChange("v3", 1) });
    machine.step({ kind: "message", message: viewChange("v0", 2) });
    expect(machine.status().view).toBe(1);
    // Its timer runs out: v2, v3 and v0 have all left view 0 behind, a quorum, so v2 moves on
    // (with v3), where v0 already waits.
    const outputs = machine.step({ kind: "timer", timer: "view-change" });
    expect(machine.status()).toMatchObject({ view: 2, phase: "view-change" });
    expect(
      outputs.some(
        (o) =>
          o.kind === "broadcast" &&
          o.message.message.type === "view-change" &&
          o.message.message.view === 2,
      ),
    ).toBe(true);
  });
});
