/**
 * The REST API: Hyperledger Sawtooth's endpoints with Sawtooth's JSON shapes, paging and error
 * codes (so Sawtooth clients work unchanged), govchain's `/v1` endpoints (status, state proofs,
 * a WebSocket event stream), Prometheus `/metrics`, and the OpenAPI document with Swagger UI at
 * `/docs`. One table (`ERROR_TABLE`) maps every error code to its HTTP status, Sawtooth code
 * and title. See docs/adr/0006-rest-api.md and docs/api.md.
 */
export { type ApiServer, type ApiServerOptions, createApiServer } from "./api-server.js";
export {
  ApiError,
  type ApiErrorReason,
  ERROR_TABLE,
  type ErrorEnvelope,
  type ErrorSpec,
  isApiErrorReason,
} from "./errors.js";
export {
  BLOCK_COMMIT_EVENT_TYPE,
  type BlockCommitMessage,
  type EventMessage,
  type FamilyEventMessage,
  SLOW_CONSUMER_CLOSE_CODE,
} from "./event-hub.js";
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./paging.js";
export type { ApiNode } from "./route-context.js";
