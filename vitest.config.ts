import { defineConfig } from "vitest/config";

// One runner for the whole workspace. Tests that start real processes or open LevelDB run in
// forked workers, at most two at a time to match the 2-core CI machine.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default", "./tools/vitest-summary-reporter.ts"],
  },
});
