/**
 * Replays one scenario from its seed, with a trace when `SIM_TRACE=1`:
 * `SIM_SEED=1234 SIM_FAULTS=lossy SIM_VALIDATORS=4 npx vitest run packages/node/test/sim/replay.test.ts`.
 * Without `SIM_SEED` it replays a fixed scenario twice and checks both runs are identical.
 */
import { describe, expect, it } from "vitest";
import { HEAL_AT_MS, LIVE_BOUND_MS } from "./sim-suite.js";
import { type FaultClass, runScenario, type ScenarioSpec } from "./sim-world.js";

describe("PBFT simulation replay", () => {
  it("replays a scenario exactly from its seed", async () => {
    const spec: ScenarioSpec = {
      seed: Number(process.env.SIM_SEED ?? 4242),
      faults: (process.env.SIM_FAULTS ?? "mixed") as FaultClass,
      validators: Number(process.env.SIM_VALIDATORS ?? 4),
      healAtMs: HEAL_AT_MS,
      liveBoundMs: LIVE_BOUND_MS,
    };
    const first = await runScenario(spec);
    if (process.env.SIM_SEED) console.log(JSON.stringify(first, null, 2));
    const second = await runScenario(spec);
    expect(second).toEqual(first);
    expect(first.violations).toEqual([]);
  });
});
