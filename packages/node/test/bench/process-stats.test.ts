import { describe, expect, it } from "vitest";
import { sampleProcess } from "../../src/bench/process-stats.js";

describe("sampleProcess", () => {
  it("reads CPU time and resident memory, split into anonymous and file-backed pages", async () => {
    const sample = await sampleProcess(process.pid);
    expect(sample).toBeDefined();
    if (!sample) return;
    expect(sample.cpuMicros).toBeGreaterThan(0);
    expect(sample.rssAnonBytes).toBeGreaterThan(0);
    expect(sample.rssFileBytes).toBeGreaterThan(0); // the node binary, at least
    // RSS is anonymous + file-backed + shared memory, all read from one status snapshot.
    expect(sample.rssAnonBytes + sample.rssFileBytes).toBeLessThanOrEqual(sample.rssBytes);
    expect(sample.rssAnonBytes + sample.rssFileBytes).toBeGreaterThan(sample.rssBytes * 0.9);
  });

  it("answers undefined for a process that does not exist", async () => {
    expect(await sampleProcess(2 ** 31 - 1)).toBeUndefined();
  });
});
