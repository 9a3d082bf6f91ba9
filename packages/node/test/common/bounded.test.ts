import { describe, expect, it } from "vitest";
import { dropOldest } from "../../src/common/bounded.js";

describe("dropOldest", () => {
  it("keeps the newest entries of a set or map, in insertion order", () => {
    const set = new Set(["a", "b", "c", "d"]);
    dropOldest(set, 2);
    expect([...set]).toEqual(["c", "d"]);
    dropOldest(set, 5);
    expect([...set]).toEqual(["c", "d"]);
    const map = new Map([
      [1, "x"],
      [2, "y"],
      [3, "z"],
    ]);
    map.set(1, "again"); // an update keeps its place: still the oldest
    dropOldest(map, 1);
    expect([...map]).toEqual([[3, "z"]]);
    dropOldest(map, 0);
    expect(map.size).toBe(0);
  });
});
