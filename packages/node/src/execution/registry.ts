/**
 * The set of transaction families compiled into this node, looked up by name and version.
 */
import { GovchainError } from "../common/errors.js";
import type { TransactionFamily } from "./family.js";

/** Families by name. */
export interface FamilyRegistry {
  /** The family handling `name` at `version`, or undefined. */
  get(name: string, version: string): TransactionFamily | undefined;
  /** The family named `name` at any version, or undefined. */
  byName(name: string): TransactionFamily | undefined;
  /** All registered families. */
  all(): readonly TransactionFamily[];
}

/** Builds a registry; throws `DUPLICATE_FAMILY` when two families share a name. */
export function createFamilyRegistry(families: readonly TransactionFamily[]): FamilyRegistry {
  const byName = new Map<string, TransactionFamily>();
  for (const family of families) {
    if (byName.has(family.name)) {
      throw new GovchainError("DUPLICATE_FAMILY", `two families are named ${family.name}`, {
        family: family.name,
      });
    }
    byName.set(family.name, family);
  }
  return {
    get(name, version) {
      const family = byName.get(name);
      return family?.versions.includes(version) ? family : undefined;
    },
    byName: (name) => byName.get(name),
    all: () => [...byName.values()],
  };
}
