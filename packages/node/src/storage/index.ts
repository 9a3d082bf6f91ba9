/**
 * Storage: the `KvStore` interface, its implementations (LevelDB via classic-level, memory),
 * and the fixed table of key prefixes. Owns bytes on disk; knows nothing of blocks or state.
 */
export type * from "./interface.js";
export { createMemoryStore } from "./memory-store.js";
export * from "./prefixes.js";
