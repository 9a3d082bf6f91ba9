/**
 * JSON Schemas of the routes: they validate inputs (querystring, params, bodies) and document
 * every route in the OpenAPI document at `/docs/json`. Response schemas are documentation
 * only — responses are serialised with `JSON.stringify`, so a schema that lags the code can
 * never silently drop a field from an answer.
 *
 * Which Sawtooth error code a failed input check produces is decided by the field that failed
 * (`FIELD_REASONS` in api-server.ts), so patterns here are the single statement of each format.
 */
import type { FastifySchema } from "fastify";

/** A transaction, batch or block id: 128 lower-case hex characters. */
export const ID_PATTERN = "^[0-9a-f]{128}$";

/** A full state address: 70 lower-case hex characters. */
export const ADDRESS_PATTERN = "^[0-9a-f]{70}$";

/** A state address prefix: up to 70 lower-case hex characters. */
export const ADDRESS_PREFIX_PATTERN = "^[0-9a-f]{0,70}$";

const idString = { type: "string", pattern: ID_PATTERN } as const;

const errorEnvelope = {
  type: "object",
  description: "Sawtooth's error envelope plus govchain's `reason`.",
  properties: {
    error: {
      type: "object",
      required: ["code", "title", "message", "reason"],
      properties: {
        code: {
          type: "integer",
          description: "Sawtooth's error code (govchain's own from 100)",
          examples: [30],
        },
        title: { type: "string", examples: ["Submitted Batches Invalid"] },
        message: { type: "string" },
        reason: {
          type: "string",
          description: "govchain's machine-readable code",
          examples: ["PAYLOAD_HASH_MISMATCH"],
        },
        batch_id: { type: "string" },
        transaction_id: { type: "string" },
      },
    },
  },
} as const;

const paging = {
  type: "object",
  properties: {
    start: { type: ["string", "null"], description: "The start the client sent" },
    limit: { type: ["integer", "null"], description: "The limit the client sent" },
    next_position: { type: "string", description: "Position of the next page's first item" },
    next: { type: "string", description: "URL of the next page" },
  },
} as const;

const transactionHeader = {
  type: "object",
  properties: {
    batcher_public_key: { type: "string" },
    dependencies: { type: "array", items: { type: "string" } },
    family_name: { type: "string", examples: ["intkey"] },
    family_version: { type: "string", examples: ["1.0"] },
    inputs: { type: "array", items: { type: "string" } },
    nonce: { type: "string" },
    outputs: { type: "array", items: { type: "string" } },
    payload_sha512: { type: "string" },
    signer_public_key: { type: "string" },
  },
} as const;

const transaction = {
  type: "object",
  properties: {
    header: transactionHeader,
    header_signature: { type: "string" },
    payload: { type: "string", format: "byte" },
  },
} as const;

const batch = {
  type: "object",
  properties: {
    header: {
      type: "object",
      properties: {
        signer_public_key: { type: "string" },
        transaction_ids: { type: "array", items: { type: "string" } },
      },
    },
    header_signature: { type: "string" },
    transactions: { type: "array", items: transaction },
    trace: { type: "boolean" },
  },
} as const;

const block = {
  type: "object",
  properties: {
    header: {
      type: "object",
      properties: {
        block_num: { type: "string", description: "Height, a 64-bit integer as a decimal string" },
        previous_block_id: { type: "string" },
        signer_public_key: { type: "string" },
        batch_ids: { type: "array", items: { type: "string" } },
        consensus: {
          type: "string",
          format: "byte",
          description: "govchain ConsensusFields (engine, time, engine data)",
        },
        state_root_hash: { type: "string" },
      },
    },
    header_signature: { type: "string" },
    batches: { type: "array", items: batch },
  },
} as const;

const batchStatus = {
  type: "object",
  properties: {
    id: { type: "string" },
    status: { type: "string", enum: ["COMMITTED", "INVALID", "PENDING", "UNKNOWN"] },
    invalid_transactions: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          message: { type: "string" },
          extended_data: { type: "string", format: "byte" },
        },
      },
    },
  },
} as const;

const receipt = {
  type: "object",
  properties: {
    id: { type: "string", description: "The transaction id" },
    state_changes: {
      type: "array",
      items: {
        type: "object",
        properties: {
          address: { type: "string" },
          type: { type: "string", enum: ["SET", "DELETE"] },
          value: { type: "string", format: "byte" },
        },
      },
    },
    events: {
      type: "array",
      items: {
        type: "object",
        properties: {
          event_type: { type: "string" },
          attributes: {
            type: "array",
            items: {
              type: "object",
              properties: { key: { type: "string" }, value: { type: "string" } },
            },
          },
          data: { type: "string", format: "byte" },
        },
      },
    },
    data: { type: "array", items: { type: "string", format: "byte" } },
  },
} as const;

const errors = (...statuses: number[]): Record<number, typeof errorEnvelope> =>
  Object.fromEntries(statuses.map((s) => [s, errorEnvelope]));

const head = {
  type: "string",
  pattern: ID_PATTERN,
  description: "Id of the block to read at; default the chain head",
} as const;
const start = {
  type: "string",
  maxLength: 200,
  description: "Position of the first item (inclusive)",
} as const;
const limit = {
  type: "integer",
  minimum: 1,
  description: "Items per page; default 100, at most 1000 served",
} as const;
const reverse = {
  type: "string",
  maxLength: 64,
  description: "Reverse the order (bare, or the sort key)",
} as const;
const idList = { type: "string", maxLength: 200_000, description: "Comma-separated ids" } as const;
const wait = {
  type: "string",
  maxLength: 32,
  description: "Wait until no batch is PENDING: seconds, or bare for the longest wait",
} as const;

const listResponse = (item: object, description: string) => ({
  200: {
    description,
    type: "object",
    properties: {
      data: { type: "array", items: item },
      head: { type: "string" },
      link: { type: "string" },
      paging,
    },
  },
  ...errors(400, 404, 500, 503),
});

const sawtooth = ["sawtooth"];
const govchain = ["govchain"];

const routeSchemas = {
  postBatches: {
    tags: sawtooth,
    summary: "Submit a BatchList",
    description:
      "Accepts a protobuf `BatchList` (Content-Type `application/octet-stream`). Answers 202 with a `link` to `/batch_statuses` once every batch passed admission; nothing is queued otherwise.",
    consumes: ["application/octet-stream"],
    body: { type: "string", format: "binary", description: "An encoded BatchList" },
    response: {
      202: {
        description: "Accepted: pending",
        type: "object",
        properties: { link: { type: "string" } },
      },
      ...errors(400, 413, 429, 500, 503),
    },
  },
  getBatchStatuses: {
    tags: sawtooth,
    summary: "Statuses of batches",
    querystring: { type: "object", properties: { id: idList, wait } },
    response: {
      200: {
        type: "object",
        properties: { data: { type: "array", items: batchStatus }, link: { type: "string" } },
      },
      ...errors(400, 500, 503),
    },
  },
  postBatchStatuses: {
    tags: sawtooth,
    summary: "Statuses of batches (ids in the body)",
    querystring: { type: "object", properties: { wait } },
    body: { type: "array", minItems: 1, maxItems: 1000, items: { type: "string" } },
    response: {
      200: { type: "object", properties: { data: { type: "array", items: batchStatus } } },
      ...errors(400, 413, 500, 503),
    },
  },
  listState: {
    tags: sawtooth,
    summary: "State entries under an address prefix",
    querystring: {
      type: "object",
      properties: {
        head,
        address: {
          type: "string",
          pattern: ADDRESS_PREFIX_PATTERN,
          description: "Address prefix (lower-case hex)",
        },
        start: {
          type: "string",
          pattern: ADDRESS_PATTERN,
          description: "Address of the first entry (inclusive)",
        },
        limit,
        reverse,
      },
    },
    response: listResponse(
      {
        type: "object",
        properties: { address: { type: "string" }, data: { type: "string", format: "byte" } },
      },
      "A page of state entries",
    ),
  },
  getState: {
    tags: sawtooth,
    summary: "The value at a state address",
    params: {
      type: "object",
      required: ["address"],
      properties: { address: { type: "string", pattern: ADDRESS_PATTERN } },
    },
    querystring: { type: "object", properties: { head } },
    response: {
      200: {
        type: "object",
        properties: {
          data: { type: "string", format: "byte" },
          head: { type: "string" },
          link: { type: "string" },
        },
      },
      ...errors(400, 404, 500, 503),
    },
  },
  listBlocks: {
    tags: sawtooth,
    summary: "Blocks, newest first",
    querystring: {
      type: "object",
      properties: {
        head,
        id: idList,
        start: { ...start, description: "Block number of the first block: 0x + 16 hex digits" },
        limit,
        reverse,
      },
    },
    response: listResponse(block, "A page of blocks"),
  },
  getBlock: {
    tags: sawtooth,
    summary: "A block",
    params: { type: "object", required: ["block_id"], properties: { block_id: idString } },
    response: {
      200: { type: "object", properties: { data: block, link: { type: "string" } } },
      ...errors(400, 404, 500),
    },
  },
  listBatches: {
    tags: sawtooth,
    summary: "Committed batches, newest first",
    querystring: { type: "object", properties: { head, id: idList, start, limit, reverse } },
    response: listResponse(batch, "A page of batches"),
  },
  getBatch: {
    tags: sawtooth,
    summary: "A committed batch",
    params: { type: "object", required: ["batch_id"], properties: { batch_id: idString } },
    response: {
      200: { type: "object", properties: { data: batch, link: { type: "string" } } },
      ...errors(400, 404, 500),
    },
  },
  listTransactions: {
    tags: sawtooth,
    summary: "Committed transactions, newest first",
    querystring: { type: "object", properties: { head, id: idList, start, limit, reverse } },
    response: listResponse(transaction, "A page of transactions"),
  },
  getTransaction: {
    tags: sawtooth,
    summary: "A committed transaction",
    params: {
      type: "object",
      required: ["transaction_id"],
      properties: { transaction_id: idString },
    },
    response: {
      200: { type: "object", properties: { data: transaction, link: { type: "string" } } },
      ...errors(400, 404, 500),
    },
  },
  getReceipts: {
    tags: sawtooth,
    summary: "Receipts of committed transactions",
    querystring: { type: "object", properties: { id: idList, wait } },
    response: {
      200: {
        type: "object",
        properties: { data: { type: "array", items: receipt }, link: { type: "string" } },
      },
      ...errors(400, 404, 500),
    },
  },
  postReceipts: {
    tags: sawtooth,
    summary: "Receipts of committed transactions (ids in the body)",
    querystring: { type: "object", properties: { wait } },
    body: { type: "array", minItems: 1, maxItems: 1000, items: { type: "string" } },
    response: {
      200: { type: "object", properties: { data: { type: "array", items: receipt } } },
      ...errors(400, 404, 413, 500),
    },
  },
  getPeers: {
    tags: sawtooth,
    summary: "Endpoints of connected peers",
    response: {
      200: {
        type: "object",
        properties: {
          data: { type: "array", items: { type: "string" } },
          link: { type: "string" },
        },
      },
    },
  },
  getSawtoothStatus: {
    tags: sawtooth,
    summary: "This node's endpoint and peers",
    response: {
      200: {
        type: "object",
        properties: {
          data: {
            type: "object",
            properties: {
              endpoint: { type: "string" },
              peers: {
                type: "array",
                items: { type: "object", properties: { endpoint: { type: "string" } } },
              },
            },
          },
          link: { type: "string" },
        },
      },
    },
  },
  getNodeStatus: {
    tags: govchain,
    summary: "Node, chain and consensus status",
    response: {
      200: {
        type: "object",
        properties: {
          nodeId: { type: "string" },
          chainId: { type: "string" },
          suite: { type: "string" },
          height: { type: "string", description: "Height of the head (decimal string)" },
          head: { type: "string" },
          stateRoot: { type: "string" },
          headTimestampMs: { type: "integer" },
          view: { type: "integer" },
          primary: { type: "string" },
          validators: { type: "array", items: { type: "string" } },
          peers: { type: "array", items: {} },
          consensus: { type: "object", additionalProperties: true },
          mempool: {
            type: "object",
            properties: { batches: { type: "integer" }, bytes: { type: "integer" } },
          },
        },
      },
      ...errors(500, 503),
    },
  },
  getProof: {
    tags: govchain,
    summary: "A Merkle proof of a state address at a block",
    description:
      "An inclusion or exclusion proof of `address` under the state root of block `head` (default: the chain head), with the block header bytes and signature so a client holding only the genesis file can check the signer is a validator, the header's state root, and the proof.",
    params: {
      type: "object",
      required: ["address"],
      properties: { address: { type: "string", pattern: ADDRESS_PATTERN } },
    },
    querystring: { type: "object", properties: { head } },
    response: {
      200: {
        type: "object",
        properties: {
          address: { type: "string" },
          block: {
            type: "object",
            properties: {
              id: { type: "string" },
              height: { type: "string" },
              header: {
                type: "string",
                description: "Hex of the BlockHeader bytes the signature covers",
              },
              headerSignature: { type: "string" },
              signerPublicKey: { type: "string" },
              stateRoot: { type: "string" },
              certificate: {
                type: "string",
                description: "Hex of the commit certificate, when the engine makes one",
              },
            },
          },
          proof: {
            type: "object",
            properties: {
              version: { type: "integer" },
              hash: { type: "string", enum: ["sha256", "sm3"] },
              root: { type: "string" },
              address: { type: "string" },
              value: { type: "string", description: "Hex of the value (inclusion proofs)" },
              nodes: { type: "array", items: { type: "string" } },
            },
          },
        },
      },
      ...errors(400, 404, 500, 503),
    },
  },
  events: {
    tags: govchain,
    summary: "WebSocket stream of block commits and family events",
    description:
      'Upgrade to a WebSocket. Messages are JSON: `{"type":"block-commit",…}` per block and `{"type":"event",…}` per family event. Filter by event type prefixes with `?types=a,b` or by sending `{"type":"subscribe","eventTypes":["a"]}`; a block commit has the event type `sawtooth/block-commit`. Slow readers are closed with code 1008.',
    querystring: {
      type: "object",
      properties: {
        types: {
          type: "string",
          maxLength: 4096,
          description: "Comma-separated event type prefixes",
        },
      },
    },
  },
  metrics: {
    tags: govchain,
    summary: "Prometheus metrics",
    produces: ["text/plain"],
    response: { 200: { type: "string", description: "Prometheus text exposition format" } },
  },
} as const;

/**
 * Route schemas, by route. Typed as plain `FastifySchema`s so fastify does not narrow replies
 * to the documented status codes (error statuses come from the error table at run time).
 */
export const SCHEMAS: { readonly [K in keyof typeof routeSchemas]: FastifySchema } = routeSchemas;
