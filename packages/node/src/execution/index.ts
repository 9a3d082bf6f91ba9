/**
 * Execution: the transaction-family SDK, the family registry and the block executor. Owns
 * turning ordered batches into state changes, receipts and events; does not own ordering
 * (consensus), persistence (ledger) or the state tree's encoding (state).
 */
export * from "./address.js";
export type * from "./chain-services.js";
export * from "./executor.js";
export * from "./family.js";
export * from "./registry.js";
