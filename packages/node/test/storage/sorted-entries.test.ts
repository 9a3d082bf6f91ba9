import { describe, expect, it } from "vitest";
import { createSeededRandom, type Random } from "../../src/common/random.js";
import { normalizeRange } from "../../src/storage/kv-input.js";
import {
  createSortedEntries,
  type EntriesSnapshot,
  keyId,
  keyOfId,
} from "../../src/storage/sorted-entries.js";

const hex = (id: string): string => Buffer.from(id, "latin1").toString("hex");

/** The model's sorted ids (hex sorts like the bytes). */
const sortedHex = (model: ReadonlyMap<string, number>): string[] =>
  [...model.keys()].map(hex).sort();

function listed(
  snapshot: EntriesSnapshot,
  range: Parameters<typeof normalizeRange>[0] = undefined,
): string[] {
  return [...snapshot.range(normalizeRange(range))].map(
    (entry) => `${hex(entry.id)}=${entry.value[0]}`,
  );
}

function modelListed(model: ReadonlyMap<string, number>): string[] {
  const byHex = new Map([...model].map(([id, v]) => [hex(id), v]));
  return sortedHex(model).map((h) => `${h}=${byHex.get(h)}`);
}

const randomKey = (random: Random): Uint8Array => {
  // Two bytes over a small alphabet plus the edge bytes: about 3,000 keys, many chunk splits.
  const alphabet = [0x00, 0x01, 0x02, 0x10, 0x7f, 0x80, 0xfe, 0xff];
  const length = 1 + random.int(4);
  return Uint8Array.from({ length }, () => alphabet[random.int(alphabet.length)] ?? 0);
};

describe("sorted entries", () => {
  it("maps keys to ids that sort like the bytes and back", () => {
    const keys = [[], [0], [0, 0], [0, 255], [1], [127], [128], [255], [255, 0], [255, 255]].map(
      (k) => Uint8Array.from(k),
    );
    const ids = keys.map(keyId);
    expect(ids.slice().sort()).toEqual(ids);
    for (const [i, id] of ids.entries()) {
      const back = keyOfId(id);
      expect(back).toEqual(keys[i]);
      expect(back.buffer.byteLength).toBe(back.length);
    }
  });

  for (const [seed, maxChunkEntries] of [
    [1, undefined],
    [2, undefined],
    [3, 2],
    [4, 7],
  ] as const) {
    it(`matches a model through thousands of changes, keeping every snapshot frozen (seed ${seed}, chunks of ${maxChunkEntries ?? "default"})`, () => {
      const random = createSeededRandom(seed);
      const sorted = createSortedEntries(maxChunkEntries === undefined ? {} : { maxChunkEntries });
      const model = new Map<string, number>();
      const snapshots: { snapshot: EntriesSnapshot; expected: string[] }[] = [];
      for (let step = 0; step < 6000; step++) {
        const id = keyId(randomKey(random));
        const value = Uint8Array.of(step & 0xff);
        const roll = random.next();
        if (roll < 0.6) {
          if (model.has(id)) sorted.replace({ id, value });
          else sorted.insert({ id, value });
          model.set(id, step & 0xff);
        } else if (roll < 0.95) {
          if (model.has(id)) {
            sorted.remove(id);
            model.delete(id);
          }
        } else {
          snapshots.push({ snapshot: sorted.snapshot(), expected: modelListed(model) });
        }
      }
      const now = sorted.snapshot();
      expect(listed(now), `seed ${seed}`).toEqual(modelListed(model));
      expect(listed(now, { reverse: true })).toEqual(modelListed(model).reverse());
      for (const [i, { snapshot, expected }] of snapshots.entries()) {
        expect(listed(snapshot), `seed ${seed}, snapshot ${i}`).toEqual(expected);
      }
      // Ranges over the final state, against the model.
      for (let i = 0; i < 200; i++) {
        const a = randomKey(random);
        const b = randomKey(random);
        const reverse = random.next() < 0.5;
        const limit = random.int(40);
        const want = modelListed(model).filter((line) => {
          const key = line.slice(0, line.indexOf("="));
          return key >= Buffer.from(a).toString("hex") && key < Buffer.from(b).toString("hex");
        });
        if (reverse) want.reverse();
        expect(listed(now, { gte: a, lt: b, reverse, limit }), `seed ${seed}, range ${i}`).toEqual(
          want.slice(0, limit),
        );
      }
    });
  }

  it("refuses to replace or remove a key that is absent", () => {
    const sorted = createSortedEntries();
    sorted.insert({ id: keyId(Uint8Array.of(1)), value: Uint8Array.of(1) });
    expect(() => sorted.remove(keyId(Uint8Array.of(2)))).toThrowError(
      expect.objectContaining({ code: "INVARIANT_VIOLATED" }),
    );
    expect(() =>
      sorted.replace({ id: keyId(Uint8Array.of(0)), value: Uint8Array.of(0) }),
    ).toThrowError(expect.objectContaining({ code: "INVARIANT_VIOLATED" }));
  });
});
