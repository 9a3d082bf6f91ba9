/**
 * Trace queries over `APSChain` state (S4.7): upstream chains and downstream trees of a lot at
 * any retained state root, paged and bounded; their text rendering for the CLI; and the demo
 * scenario's batches. Reads state only — what is traceable is what the family recorded.
 */
export {
  buildTraceDemo,
  type TraceDemo,
  type TraceDemoLot,
  type TraceDemoOptions,
  type TraceDemoOrganisation,
  type TraceDemoSigners,
} from "./demo.js";
export { TraceErrorCode, type TraceErrorCodeName, TraceQueryError } from "./errors.js";
export {
  lotLabel,
  mergeTracePages,
  type RenderTraceOptions,
  renderTraceTree,
} from "./render-tree.js";
export {
  DEFAULT_TRACE_NODES,
  DEFAULT_TRACE_STEPS,
  decodeTraceCursor,
  type LotSummary,
  listLots,
  MAX_TRACE_NODES,
  MAX_TRACE_NODES_WITH_PROOFS,
  MAX_TRACE_STEPS,
  readLot,
  readProduct,
  requireTracedLot,
  type TraceDirection,
  type TraceEdge,
  type TraceLotRef,
  type TraceNode,
  type TraceOptions,
  type TraceResult,
  type TraceStep,
  traceCursorHead,
  traceLot,
} from "./trace-query.js";
