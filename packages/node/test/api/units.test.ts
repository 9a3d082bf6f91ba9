/**
 * Unit tests of the API's pure parts: the error table, paging and sorting rules, link
 * building, `wait` parsing, and the event hub's filtering and slow-consumer policy.
 */
import { describe, expect, it } from "vitest";
import { AdmissionError } from "../../src/admission/admission.js";
import { QueueFullError } from "../../src/admission/mempool.js";
import {
  ApiError,
  ERROR_TABLE,
  isApiErrorReason,
  submissionErrorResponse,
  toErrorResponse,
} from "../../src/api/errors.js";
import {
  BLOCK_COMMIT_EVENT_TYPE,
  createEventHub,
  type EventSocket,
  matchesFilter,
  messagesOf,
  SLOW_CONSUMER_CLOSE_CODE,
} from "../../src/api/event-hub.js";
import { buildUrl, forwardedValue, type LinkRequest } from "../../src/api/links.js";
import {
  blockNumToHex,
  effectiveLimit,
  isReversed,
  pagedMetadata,
  paginate,
  pagingControls,
  parseBlockNumHex,
} from "../../src/api/paging.js";
import { waitMilliseconds } from "../../src/api/route-context.js";
import type { CommitEvent } from "../../src/chain/chain.js";
import { GovchainError } from "../../src/common/errors.js";
import { silentLogger } from "../../src/common/logger.js";
import { WIRE_ERROR_CODES, WireValidationError } from "../../src/wire/index.js";

const ID_A = "a".repeat(128);
const ID_B = "b".repeat(128);

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof GovchainError) return err.code;
    throw err;
  }
  throw new Error("expected an error");
}

describe("error table", () => {
  it("has an entry for every wire and admission code", () => {
    for (const code of [
      ...WIRE_ERROR_CODES,
      "ALREADY_PENDING",
      "ALREADY_COMMITTED",
      "UNKNOWN_FAMILY",
      "UNAUTHORIZED",
      "INVALID_PAYLOAD",
      "QUEUE_FULL",
    ]) {
      expect(isApiErrorReason(code), code).toBe(true);
    }
  });

  it("keeps Sawtooth's codes and statuses", () => {
    const expected: Record<string, [number, number]> = {
      INTERNAL_ERROR: [500, 10],
      NO_GENESIS: [503, 15],
      INVALID_BATCH: [400, 30],
      QUEUE_FULL: [429, 31],
      NO_BATCHES: [400, 34],
      UNDECODABLE: [400, 35],
      WRONG_CONTENT_TYPE: [400, 42],
      STATUS_WRONG_CONTENT_TYPE: [400, 43],
      STATUS_BODY_INVALID: [400, 46],
      HEAD_NOT_FOUND: [404, 50],
      INVALID_COUNT: [400, 53],
      INVALID_PAGING: [400, 54],
      INVALID_SORT: [400, 57],
      INVALID_RESOURCE_ID: [400, 60],
      INVALID_STATE_ADDRESS: [400, 62],
      STATUS_ID_QUERY_INVALID: [400, 66],
      BLOCK_NOT_FOUND: [404, 70],
      BATCH_NOT_FOUND: [404, 71],
      TRANSACTION_NOT_FOUND: [404, 72],
      STATE_NOT_FOUND: [404, 75],
      RECEIPT_NOT_FOUND: [404, 80],
      RECEIPT_WRONG_CONTENT_TYPE: [400, 81],
      RECEIPT_BODY_INVALID: [400, 82],
      RECEIPT_ID_QUERY_INVALID: [400, 83],
      PAYLOAD_HASH_MISMATCH: [400, 30],
      UNAUTHORIZED: [400, 30],
      ALREADY_COMMITTED: [400, 30],
      BATCH_LIST_TOO_LARGE: [413, 100],
    };
    for (const [reason, [status, code]] of Object.entries(expected)) {
      if (!isApiErrorReason(reason)) throw new Error(`${reason} missing`);
      expect([ERROR_TABLE[reason].status, ERROR_TABLE[reason].code], reason).toEqual([
        status,
        code,
      ]);
    }
  });

  it("gives each govchain code (100 and up) one meaning", () => {
    const byCode = new Map<number, string>();
    for (const spec of Object.values(ERROR_TABLE)) {
      if (spec.code < 100) continue;
      const seen = byCode.get(spec.code);
      expect(seen === undefined || seen === spec.title, `code ${spec.code}`).toBe(true);
      byCode.set(spec.code, spec.title);
    }
  });

  it("answers a refused submission with the reason, Sawtooth's code and the batch at fault", () => {
    const err = new WireValidationError(
      "PAYLOAD_HASH_MISMATCH",
      "payload_sha512 is not the SHA-512 digest of the payload",
      {
        batchId: ID_A,
        transactionId: ID_B,
      },
    );
    const response = submissionErrorResponse(
      new AdmissionError(err.code, err.message, err.context),
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 30,
      title: "Submitted Batches Invalid",
      reason: "PAYLOAD_HASH_MISMATCH",
      batch_id: ID_A,
      transaction_id: ID_B,
    });
    expect(response.body.error.message).toContain(`batch ${ID_A}`);
    expect(response.body.error.message).toContain(`transaction ${ID_B}`);
  });

  it("answers a full queue with 429 and Retry-After seconds", () => {
    const response = submissionErrorResponse(new QueueFullError(7, {}));
    expect(response).toMatchObject({
      status: 429,
      retryAfterSeconds: 7,
      body: { error: { code: 31, reason: "QUEUE_FULL" } },
    });
  });

  it("treats an unknown admission code as an invalid batch", () => {
    const response = submissionErrorResponse(new AdmissionError("SOMETHING_NEW", "no", {}));
    expect(response.body.error).toMatchObject({ code: 30, reason: "SOMETHING_NEW" });
  });

  it("never echoes an internal error's text", () => {
    const response = toErrorResponse(new Error("secret path /var/lib/x"));
    expect(response).toMatchObject({
      status: 500,
      internal: true,
      body: { error: { code: 10, reason: "INTERNAL_ERROR" } },
    });
    expect(JSON.stringify(response.body)).not.toContain("secret");
    expect(toErrorResponse(new ApiError("INVALID_RESOURCE_ID", "xyz")).body.error.message).toMatch(
      /was invalid: xyz$/,
    );
  });
});

describe("paging", () => {
  it("checks and caps limits as Sawtooth does", () => {
    expect(effectiveLimit(pagingControls({}))).toBe(100);
    expect(effectiveLimit(pagingControls({ limit: 7 }))).toBe(7);
    expect(effectiveLimit(pagingControls({ limit: 5000 }))).toBe(1000);
    expect(reasonOf(() => pagingControls({ limit: 0 }))).toBe("INVALID_COUNT");
    expect(reasonOf(() => pagingControls({ limit: -3 }))).toBe("INVALID_COUNT");
    expect(reasonOf(() => pagingControls({ limit: 1.5 }))).toBe("INVALID_COUNT");
  });

  it("reads reverse as Sawtooth does", () => {
    expect(isReversed(undefined, "default")).toBe(false);
    expect(isReversed("", "default")).toBe(true);
    expect(isReversed("false", "block_num")).toBe(false);
    expect(isReversed("true", "block_num")).toBe(true);
    expect(isReversed("block_num", "block_num")).toBe(true);
    expect(isReversed("default", "default")).toBe(true);
    expect(reasonOf(() => isReversed("block_num", "default"))).toBe("INVALID_SORT");
    expect(reasonOf(() => isReversed("header.signer", "block_num"))).toBe("INVALID_SORT");
  });

  it("pages a list from a start position", () => {
    const items = ["a", "b", "c", "d", "e"];
    expect(paginate(items, (x) => x, { limit: 2 })).toEqual({
      items: ["a", "b"],
      start: "a",
      next: "c",
    });
    expect(paginate(items, (x) => x, { start: "d", limit: 2 })).toEqual({
      items: ["d", "e"],
      start: "d",
    });
    expect(paginate([], (x: string) => x, { start: "zz" })).toEqual({ items: [] });
    expect(reasonOf(() => paginate(items, (x) => x, { start: "zz" }))).toBe("INVALID_PAGING");
  });

  it("writes block positions as 0x and 16 hex digits", () => {
    expect(blockNumToHex(3n)).toBe("0x0000000000000003");
    expect(blockNumToHex(255n)).toBe("0x00000000000000ff");
    expect(parseBlockNumHex("0x0003")).toBe(3n);
    expect(reasonOf(() => parseBlockNumHex("3"))).toBe("INVALID_PAGING");
    expect(reasonOf(() => parseBlockNumHex("-1"))).toBe("INVALID_PAGING");
    expect(reasonOf(() => parseBlockNumHex("0x"))).toBe("INVALID_PAGING");
  });

  it("builds the paging envelope: echoed controls, next only when there is more", () => {
    const request: LinkRequest = {
      url: "/blocks?limit=1&reverse",
      protocol: "http",
      headers: { host: "node:8008" },
    };
    const withNext = pagedMetadata(
      request,
      ID_A,
      { limit: 1 },
      { items: [1], start: "0x0000000000000003", next: "0x0000000000000002" },
    );
    expect(withNext).toEqual({
      head: ID_A,
      link: `http://node:8008/blocks?head=${ID_A}&start=0x0000000000000003&limit=1&reverse`,
      paging: {
        start: null,
        limit: 1,
        next_position: "0x0000000000000002",
        next: `http://node:8008/blocks?head=${ID_A}&start=0x0000000000000002&limit=1&reverse`,
      },
    });
    const last = pagedMetadata(
      { ...request, url: "/blocks" },
      ID_A,
      {},
      { items: [1], start: "0x0000000000000000" },
    );
    expect(last.paging).toEqual({ start: null, limit: null });
    expect(last.link).toBe(
      `http://node:8008/blocks?head=${ID_A}&start=0x0000000000000000&limit=100`,
    );
  });
});

describe("links", () => {
  it("orders head, start, limit, then the rest by key, as Sawtooth does", () => {
    const request: LinkRequest = {
      url: "/state?reverse&limit=5&address=1cf126&start=x",
      protocol: "http",
      headers: { host: "h" },
    };
    expect(buildUrl(request, { head: ID_A })).toBe(
      `http://h/state?head=${ID_A}&start=x&limit=5&address=1cf126&reverse`,
    );
    expect(buildUrl(request, { start: false, limit: false })).toBe(
      "http://h/state?address=1cf126&reverse",
    );
    expect(
      buildUrl(
        { url: "/batches", protocol: "http", headers: { host: "h" } },
        { id: `${ID_A},${ID_B}` },
        "/batch_statuses",
      ),
    ).toBe(`http://h/batch_statuses?id=${ID_A},${ID_B}`);
  });

  it("follows Forwarded and X-Forwarded-* headers", () => {
    const forwarded: LinkRequest = {
      url: "/blocks",
      protocol: "http",
      headers: {
        host: "internal:8008",
        forwarded: 'for=1.2.3.4;proto=https;host="api.example.gov"',
      },
    };
    expect(forwardedValue(forwarded, "proto")).toBe("https");
    expect(buildUrl(forwarded)).toBe("https://api.example.gov/blocks");
    const xf: LinkRequest = {
      url: "/blocks",
      protocol: "http",
      headers: {
        host: "internal",
        "x-forwarded-host": "gw",
        "x-forwarded-proto": "https",
        "x-forwarded-path": "/chain",
      },
    };
    expect(buildUrl(xf)).toBe("https://gw/chain/blocks");
  });
});

describe("wait", () => {
  it("reads ?wait as Sawtooth does", () => {
    expect(waitMilliseconds(undefined, 300)).toBeUndefined();
    expect(waitMilliseconds("false", 300)).toBeUndefined();
    expect(waitMilliseconds("FALSE", 300)).toBeUndefined();
    expect(waitMilliseconds("10", 300)).toBe(10_000);
    expect(waitMilliseconds("9999", 300)).toBe(300_000);
    expect(waitMilliseconds("", 300)).toBe(285_000);
    expect(waitMilliseconds("yes", 300)).toBe(285_000);
    expect(waitMilliseconds("0", 300)).toBe(285_000);
    expect(waitMilliseconds("-5", 300)).toBe(0);
  });
});

function commitEvent(): CommitEvent {
  const receipt = {
    transactionId: ID_B,
    stateChanges: [],
    events: [
      {
        eventType: "identity/agent-registered",
        attributes: [{ key: "public_key", value: "02ab" }],
        data: new Uint8Array([1, 2]),
      },
      {
        eventType: "settings/update",
        attributes: [{ key: "updated", value: "x" }],
        data: new Uint8Array(0),
      },
    ],
    data: [],
  };
  return {
    head: { id: ID_A, height: 12n, stateRoot: "c".repeat(64), timestampMs: 1_700_000_000_123 },
    block: { header: new Uint8Array(0), headerSignature: ID_A, batches: [] },
    header: {
      blockNum: 12n,
      previousBlockId: "0".repeat(128),
      signerPublicKey: "",
      batchIds: [],
      consensus: new Uint8Array(0),
      stateRootHash: "c".repeat(64),
    },
    batchIds: ["d".repeat(128)],
    receipts: [receipt],
    invalid: [
      { batchId: "e".repeat(128), rejectedAtMs: 1_700_000_000_123, invalidTransactions: [] },
    ],
  };
}

class FakeSocket implements EventSocket {
  bufferedAmount = 0;
  readyState = 1;
  readonly sent: string[] = [];
  closedWith: [number | undefined, string | undefined] | undefined;
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
}

describe("event hub", () => {
  it("turns a commit into a block-commit message and one message per event", () => {
    const messages = messagesOf(commitEvent());
    expect(messages).toEqual([
      {
        type: "block-commit",
        height: "12",
        id: ID_A,
        stateRoot: "c".repeat(64),
        batchIds: ["d".repeat(128)],
        invalidBatchIds: ["e".repeat(128)],
        transactionCount: 1,
        timestampMs: 1_700_000_000_123,
      },
      {
        type: "event",
        eventType: "identity/agent-registered",
        attributes: [{ key: "public_key", value: "02ab" }],
        data: "AQI=",
        transactionId: ID_B,
        height: "12",
      },
      {
        type: "event",
        eventType: "settings/update",
        attributes: [{ key: "updated", value: "x" }],
        data: "",
        transactionId: ID_B,
        height: "12",
      },
    ]);
  });

  it("filters by event type prefix; a block commit is sawtooth/block-commit", () => {
    const [commit, identity] = messagesOf(commitEvent());
    if (!commit || !identity) throw new Error("messages missing");
    expect(matchesFilter(commit, [])).toBe(true);
    expect(matchesFilter(commit, [BLOCK_COMMIT_EVENT_TYPE])).toBe(true);
    expect(matchesFilter(commit, ["identity/"])).toBe(false);
    expect(matchesFilter(identity, ["identity/"])).toBe(true);
    expect(matchesFilter(identity, ["settings/", "identity/agent"])).toBe(true);
    expect(matchesFilter(identity, ["settings/"])).toBe(false);
  });

  it("sends matching messages and disconnects a subscriber whose buffer overflows", () => {
    const hub = createEventHub({ logger: silentLogger, maxBufferedBytes: 1000 });
    const fast = new FakeSocket();
    const slow = new FakeSocket();
    const filtered = new FakeSocket();
    hub.add(fast, []);
    hub.add(slow, []);
    hub.add(filtered, ["settings/"]);
    hub.publish(commitEvent());
    expect(fast.sent).toHaveLength(3);
    expect(filtered.sent.map((s) => JSON.parse(s).eventType)).toEqual(["settings/update"]);

    slow.bufferedAmount = 990; // the client stopped reading
    hub.publish(commitEvent());
    expect(slow.closedWith?.[0]).toBe(SLOW_CONSUMER_CLOSE_CODE);
    expect(slow.closedWith?.[1]).toMatch(/slow consumer/);
    expect(hub.size).toBe(2);
    expect(fast.sent).toHaveLength(6);

    hub.close();
    expect(fast.closedWith?.[0]).toBe(1001);
    expect(hub.size).toBe(0);
  });

  it("refuses subscribers beyond the limit and forgets removed ones", () => {
    const hub = createEventHub({ logger: silentLogger, maxSubscribers: 1 });
    const first = new FakeSocket();
    const second = new FakeSocket();
    const handle = hub.add(first, []);
    expect(hub.add(second, [])).toBeUndefined();
    expect(second.closedWith?.[0]).toBe(1013);
    handle?.remove();
    expect(hub.size).toBe(0);
    handle?.setFilter(["x"]);
    hub.publish(commitEvent());
    expect(first.sent).toEqual([]);
  });
});
