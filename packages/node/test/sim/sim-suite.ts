/**
 * The scenario set `npm test` runs, split into shards (one test file each, so vitest spreads
 * them over its workers). `SIM_SCENARIOS=N` changes the total (default 1,024); `SIM_SOAK=1`
 * runs ten times as many with other seeds. A failing scenario prints the line that replays it
 * (`SIM_SEED=… SIM_FAULTS=… SIM_VALIDATORS=…`, see replay.test.ts).
 */
import { expect, it } from "vitest";
import { FAULT_CLASSES, type FaultClass, runScenario, type ScenarioSpec } from "./sim-world.js";

export const SHARDS = 4;
const soak = process.env.SIM_SOAK === "1";
const total = Number(process.env.SIM_SCENARIOS ?? (soak ? 10_240 : 1_024));
const SIZES = [4, 4, 5, 7, 4, 6, 10, 4];

/** Heal time and liveness bound of generated scenarios (virtual ms). */
export const HEAL_AT_MS = 3_000;
export const LIVE_BOUND_MS = 25_000;

/** The spec of scenario `index` (deterministic). */
export function specFor(index: number): ScenarioSpec {
  const faults = FAULT_CLASSES[index % FAULT_CLASSES.length] as FaultClass;
  const validators = SIZES[Math.floor(index / FAULT_CLASSES.length) % SIZES.length] as number;
  return {
    seed: (soak ? 1_000_000 : 1_000) + index,
    faults,
    validators,
    healAtMs: HEAL_AT_MS,
    liveBoundMs: LIVE_BOUND_MS,
  };
}

/** The command that replays `spec` alone. */
export function replayLine(spec: ScenarioSpec): string {
  return `SIM_SEED=${spec.seed} SIM_FAULTS=${spec.faults} SIM_VALIDATORS=${spec.validators} npx vitest run packages/node/test/sim/replay.test.ts`;
}

/** Declares the test of one shard. */
export function describeShard(shard: number): void {
  const indexes = Array.from({ length: total }, (_, i) => i).filter((i) => i % SHARDS === shard);
  it(`keeps agreement, validity and liveness in ${indexes.length} seeded scenarios (shard ${shard + 1}/${SHARDS})`, {
    timeout: 30 * 60_000,
  }, async () => {
    const failures: string[] = [];
    for (const index of indexes) {
      const spec = specFor(index);
      const result = await runScenario(spec);
      if (result.violations.length > 0)
        failures.push(`${replayLine(spec)}\n  ${result.violations.join("\n  ")}`);
    }
    expect(failures).toEqual([]);
  });
}
