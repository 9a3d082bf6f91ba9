/**
 * Shared foundations with no domain knowledge: errors, bytes, clock, randomness, logging,
 * lifecycle. Every other module may import from here; this module imports none of them.
 */
export * from "./bounded.js";
export * from "./bytes.js";
export * from "./canonical-json.js";
export * from "./cbor.js";
export * from "./clock.js";
export * from "./errors.js";
export * from "./lifecycle.js";
export * from "./logger.js";
export * from "./random.js";
