/**
 * Storage: the `KvStore` interface, its implementations (LevelDB via classic-level, memory),
 * their error codes, and the fixed table of key prefixes. Owns bytes on disk; knows nothing of
 * blocks or state. See docs/adr/0005-storage.md.
 */
export { StoreErrorCode } from "./errors.js";
export type * from "./interface.js";
export { createLevelStore, type LevelStore, type LevelStoreOptions } from "./level-store.js";
export { createMemoryStore, type MemoryStore } from "./memory-store.js";
export * from "./prefixes.js";
