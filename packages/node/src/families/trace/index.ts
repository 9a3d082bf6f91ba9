/**
 * The `APSChain` family (seed 004): supply-chain traceability with GS1 identifiers — company
 * prefixes, locations (GLN), products (GTIN) and lots, custody and ownership offers, splits,
 * merges, transformations and retail sales — at the S4.5 addresses, with history pages kept as
 * a ring buffer. See docs/traceability.md.
 */
export * from "./addresses.js";
export * from "./records.js";
export { createTraceFamily, type TraceFamilyOptions, traceFamily } from "./trace-family.js";
export {
  checkTracePayload,
  type DecodedTracePayload,
  decodeTracePayload,
  encodeTracePayload,
  type TracePayload,
  traceAddresses,
} from "./trace-payload.js";
