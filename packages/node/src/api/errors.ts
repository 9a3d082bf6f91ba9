/**
 * The REST API's one error table and its error envelope.
 *
 * Sawtooth clients branch on the numeric `code` of `{"error": {"code", "title", "message"}}`
 * (sawtooth_rest_api/exceptions.py), so every failure maps to one of Sawtooth's codes where
 * Sawtooth has one. govchain adds `reason` beside them: the stable `GovchainError` code
 * (`PAYLOAD_HASH_MISMATCH`, `UNAUTHORIZED`, …) that says precisely what was wrong, since
 * Sawtooth folds every rejected batch into code 30. Codes 100 and up are govchain's own, for
 * conditions Sawtooth answered without an envelope (oversized bodies, unknown routes).
 */
import { type ErrorContext, GovchainError, isGovchainError } from "../common/errors.js";

/** How one error is answered: HTTP status, Sawtooth code, title and default message. */
export interface ErrorSpec {
  readonly status: number;
  readonly code: number;
  readonly title: string;
  readonly message: string;
}

const INVALID_BATCH: ErrorSpec = {
  status: 400,
  code: 30,
  title: "Submitted Batches Invalid",
  message:
    "The submitted BatchList was rejected by the validator. It was poorly formed, or has an invalid signature.",
};

/**
 * The table: our error code (the `reason`) → answer. Sawtooth's codes keep Sawtooth's status,
 * title and message; each admission and wire code names the Sawtooth code a Sawtooth client
 * expects for it (30 for an invalid batch, 34 empty list, 35 undecodable, 31 queue full).
 */
export const ERROR_TABLE = {
  // Sawtooth's own conditions (exceptions.py), under our names.
  INTERNAL_ERROR: {
    status: 500,
    code: 10,
    title: "Unknown Validator Error",
    message: "An unknown error occurred with the validator while processing your request.",
  },
  NO_GENESIS: {
    status: 503,
    code: 15,
    title: "Validator Not Ready",
    message:
      "The validator has no genesis block, and is not yet ready to be queried. Try your request again later.",
  },
  SHUTTING_DOWN: {
    status: 503,
    code: 18,
    title: "Validator Disconnected",
    message: "The validator is shutting down and cannot answer. Try your request again later.",
  },
  INVALID_BATCH,
  QUEUE_FULL: {
    status: 429,
    code: 31,
    title: "Unable to Accept Batches",
    message:
      "The validator cannot currently accept more batches, due to a full queue.  Please submit your request again.",
  },
  NO_BATCHES: {
    status: 400,
    code: 34,
    title: "No Batches Submitted",
    message:
      "The protobuf BatchList you submitted was empty and contained no Batches. You must submit at least one Batch.",
  },
  UNDECODABLE: {
    status: 400,
    code: 35,
    title: "Protobuf Not Decodable",
    message: "The protobuf BatchList you submitted was malformed and could not be read.",
  },
  WRONG_CONTENT_TYPE: {
    status: 400,
    code: 42,
    title: "Wrong Content Type",
    message:
      "Batches must be submitted in a BatchList protobuf binary, with a 'Content-Type' header of 'application/octet-stream'.",
  },
  STATUS_WRONG_CONTENT_TYPE: {
    status: 400,
    code: 43,
    title: "Wrong Content Type",
    message:
      "Requests for batch statuses sent as a POST must have a 'Content-Type' header of 'application/json'.",
  },
  STATUS_BODY_INVALID: {
    status: 400,
    code: 46,
    title: "Bad Status Request",
    message:
      "Requests for batch statuses sent as a POST must have a JSON formatted body with an array of at least one id string.",
  },
  HEAD_NOT_FOUND: {
    status: 404,
    code: 50,
    title: "Head Not Found",
    message: "There is no block with the id specified in the 'head' query parameter.",
  },
  INVALID_COUNT: {
    status: 400,
    code: 53,
    title: "Invalid Count Query",
    message: "The 'count' query parameter must be a positive, non-zero integer.",
  },
  INVALID_PAGING: {
    status: 400,
    code: 54,
    title: "Invalid Paging Query",
    message:
      "Paging request failed as written. One or more of the 'min', 'max', or 'count' query parameters were invalid or out of range.",
  },
  INVALID_SORT: {
    status: 400,
    code: 57,
    title: "Invalid Sort Query",
    message: "The sort request failed as written. Some of the keys specified were not valid.",
  },
  INVALID_RESOURCE_ID: {
    status: 400,
    code: 60,
    title: "Invalid Resource Id",
    message:
      "Blockchain items are identified by 128 character hex-strings. A submitted block, batch, or transaction id was invalid: ",
  },
  INVALID_STATE_ADDRESS: {
    status: 400,
    code: 62,
    title: "Invalid State Address",
    message:
      "The state address submitted was invalid. To fetch specific state data, you must submit the full 70-character address.",
  },
  STATUS_ID_QUERY_INVALID: {
    status: 400,
    code: 66,
    title: "Id Query Invalid or Missing",
    message:
      "Requests for batch statuses sent as a GET request must have an 'id' query parameter with a comma-separated list of at least one batch id.",
  },
  BLOCK_NOT_FOUND: {
    status: 404,
    code: 70,
    title: "Block Not Found",
    message: "There is no block with the id specified in the blockchain.",
  },
  BATCH_NOT_FOUND: {
    status: 404,
    code: 71,
    title: "Batch Not Found",
    message: "There is no batch with the id specified in the blockchain.",
  },
  TRANSACTION_NOT_FOUND: {
    status: 404,
    code: 72,
    title: "Transaction Not Found",
    message: "There is no transaction with the id specified in the blockchain.",
  },
  STATE_NOT_FOUND: {
    status: 404,
    code: 75,
    title: "State Not Found",
    message: "There is no state data at the address specified.",
  },
  RECEIPT_NOT_FOUND: {
    status: 404,
    code: 80,
    title: "Transaction Receipt Not Found",
    message:
      "There is no transaction receipt for the transaction id specified in the receipt store.",
  },
  RECEIPT_WRONG_CONTENT_TYPE: {
    status: 400,
    code: 81,
    title: "Wrong Content Type",
    message:
      "Requests for transaction receipts sent as a POST must have a 'Content-Type' header of 'application/json'.",
  },
  RECEIPT_BODY_INVALID: {
    status: 400,
    code: 82,
    title: "Bad Receipts Request",
    message:
      "Requests for transaction receipts sent as a POST must have a JSON formatted body with an array of at least one id string.",
  },
  RECEIPT_ID_QUERY_INVALID: {
    status: 400,
    code: 83,
    title: "Id Query Invalid or Missing",
    message:
      "Requests for transaction receipts sent as a GET request must have an 'id' query parameter with a comma-separated list of at least one transaction id.",
  },

  // govchain's own codes (Sawtooth answered these without an envelope or not at all).
  REQUEST_TOO_LARGE: {
    status: 413,
    code: 100,
    title: "Request Too Large",
    message: "The request body is larger than this node accepts.",
  },
  BATCH_LIST_TOO_LARGE: {
    status: 413,
    code: 100,
    title: "Request Too Large",
    message: "The submitted BatchList is larger than this node accepts.",
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    code: 101,
    title: "Not Found",
    message: "There is no such endpoint. See /docs for the API reference.",
  },
  INVALID_REQUEST: {
    status: 400,
    code: 102,
    title: "Invalid Request",
    message: "The request is malformed.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    code: 103,
    title: "Unsupported Media Type",
    message: "The request body has a content type this endpoint does not accept.",
  },
  UPGRADE_REQUIRED: {
    status: 426,
    code: 105,
    title: "Upgrade Required",
    message: "This endpoint is a WebSocket stream: connect with a WebSocket client.",
  },
  // A node that caught up by state snapshot holds the state from its checkpoint on only.
  STATE_NODE_MISSING: {
    status: 404,
    code: 106,
    title: "State Not Held",
    message:
      "This node does not hold the state at the requested block (it caught up from a later state snapshot); ask a node that executed that block.",
  },

  // Admission: every refusal of a submitted batch is Sawtooth's 30, except a full queue (31).
  ALREADY_PENDING: INVALID_BATCH,
  ALREADY_COMMITTED: INVALID_BATCH,
  UNKNOWN_FAMILY: INVALID_BATCH,
  UNAUTHORIZED: INVALID_BATCH,
  INVALID_PAYLOAD: INVALID_BATCH,

  // Wire validation (WIRE_ERROR_CODES); UNDECODABLE, NO_BATCHES and BATCH_LIST_TOO_LARGE are above.
  UNENCODABLE: INVALID_BATCH,
  TOO_MANY_BATCHES: INVALID_BATCH,
  BATCH_TOO_LARGE: INVALID_BATCH,
  INVALID_BATCH_ID: INVALID_BATCH,
  DUPLICATE_BATCH: INVALID_BATCH,
  EMPTY_BATCH: INVALID_BATCH,
  TOO_MANY_TRANSACTIONS: INVALID_BATCH,
  TRANSACTION_IDS_MISMATCH: INVALID_BATCH,
  INVALID_TRANSACTION_ID: INVALID_BATCH,
  DUPLICATE_TRANSACTION: INVALID_BATCH,
  PAYLOAD_TOO_LARGE: INVALID_BATCH,
  PAYLOAD_HASH_MISMATCH: INVALID_BATCH,
  BATCHER_KEY_MISMATCH: INVALID_BATCH,
  UNSUPPORTED_KEY: INVALID_BATCH,
  INVALID_FAMILY_NAME: INVALID_BATCH,
  INVALID_FAMILY_VERSION: INVALID_BATCH,
  NONCE_TOO_LONG: INVALID_BATCH,
  TOO_MANY_INPUTS: INVALID_BATCH,
  TOO_MANY_OUTPUTS: INVALID_BATCH,
  INVALID_ADDRESS: INVALID_BATCH,
  TOO_MANY_DEPENDENCIES: INVALID_BATCH,
  INVALID_DEPENDENCY: INVALID_BATCH,
  INVALID_BATCH_SIGNATURE: INVALID_BATCH,
  INVALID_TRANSACTION_SIGNATURE: INVALID_BATCH,
  INVALID_BLOCK_ID: INVALID_BATCH,
  INVALID_PREVIOUS_BLOCK_ID: INVALID_BATCH,
  INVALID_STATE_ROOT: INVALID_BATCH,
  BATCH_IDS_MISMATCH: INVALID_BATCH,
  INVALID_BLOCK_SIGNATURE: INVALID_BATCH,
} as const satisfies Readonly<Record<string, ErrorSpec>>;

/** A reason the table knows. */
export type ApiErrorReason = keyof typeof ERROR_TABLE;

/** True when `code` has an entry in `ERROR_TABLE`. */
export function isApiErrorReason(code: string): code is ApiErrorReason {
  return Object.hasOwn(ERROR_TABLE, code);
}

/**
 * An error raised by the API layer itself (bad query, unknown id). `detail` is appended to
 * the table's message, as Sawtooth appends the offending id to code 60's message.
 */
export class ApiError extends GovchainError {
  declare readonly code: ApiErrorReason;
  readonly detail: string;

  constructor(reason: ApiErrorReason, detail = "", context: ErrorContext = {}) {
    super(reason, `${ERROR_TABLE[reason].message}${detail}`, context);
    this.detail = detail;
  }
}

/** The body of every error response. */
export interface ErrorEnvelope {
  readonly error: {
    readonly code: number;
    readonly title: string;
    readonly message: string;
    /** govchain's machine-readable reason (a `GovchainError` code). */
    readonly reason: string;
    /** The batch a submission error is about, when known. */
    readonly batch_id?: string;
    /** The transaction a submission error is about, when known. */
    readonly transaction_id?: string;
  };
}

/** A response to send for an error. */
export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorEnvelope;
  /** Seconds for a `Retry-After` header (queue full). */
  readonly retryAfterSeconds?: number;
  /** True for a 500: a bug or a failure inside the node (logged with its stack), not the client's doing. */
  readonly internal: boolean;
}

/** The envelope for a reason, with the table's message or `message` instead. */
export function errorResponse(reason: ApiErrorReason, message?: string): ErrorResponse {
  const spec: ErrorSpec = ERROR_TABLE[reason];
  return {
    status: spec.status,
    body: {
      error: { code: spec.code, title: spec.title, message: message ?? spec.message, reason },
    },
    internal: spec.status === 500,
  };
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * The response for a refused submission: the admission or wire code as `reason`, Sawtooth's
 * code from the table (30 for codes it does not list, since admission refused the batch), and a
 * message that names the batch and transaction at fault.
 */
export function submissionErrorResponse(
  err: GovchainError & { readonly retryAfterSeconds?: number },
): ErrorResponse {
  const spec: ErrorSpec = isApiErrorReason(err.code) ? ERROR_TABLE[err.code] : INVALID_BATCH;
  const batchId = stringOf(err.context.batchId);
  const transactionId = stringOf(err.context.transactionId);
  const index = typeof err.context.index === "number" ? err.context.index : undefined;
  const where: string[] = [];
  if (batchId !== undefined && !err.message.includes(batchId)) where.push(`batch ${batchId}`);
  else if (batchId === undefined && index !== undefined && transactionId === undefined)
    where.push(`batch #${index} of the list`);
  if (transactionId !== undefined && !err.message.includes(transactionId))
    where.push(`transaction ${transactionId}`);
  const located = where.length > 0 ? `${err.message} (${where.join(", ")})` : err.message;
  const message = spec.code === 30 ? `The submitted BatchList was rejected: ${located}` : located;
  return {
    status: spec.status,
    body: {
      error: {
        code: spec.code,
        title: spec.title,
        message,
        reason: err.code,
        ...(batchId !== undefined ? { batch_id: batchId } : {}),
        ...(transactionId !== undefined ? { transaction_id: transactionId } : {}),
      },
    },
    ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
    internal: spec.status === 500,
  };
}

/**
 * The response for any error a handler lets escape: `ApiError`s by the table, a node without
 * genesis as Sawtooth's "not ready"; anything else is a 500 whose message never carries the
 * error's own text or stack (those go to the log). Submission errors are answered by
 * `submissionErrorResponse` instead: codes such as `INVALID_ADDRESS` mean "invalid batch" only
 * when admission raised them.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof ApiError) return errorResponse(err.code, err.message);
  if (isGovchainError(err, "NO_GENESIS")) return errorResponse("NO_GENESIS");
  // A read at a root whose nodes this node never had (below its state snapshot).
  if (isGovchainError(err, "STATE_NODE_MISSING")) return errorResponse("STATE_NODE_MISSING");
  return errorResponse("INTERNAL_ERROR");
}
