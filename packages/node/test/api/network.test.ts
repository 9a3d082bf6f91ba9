/**
 * The API over real sockets on 127.0.0.1 (port chosen by the OS), where the behaviour is about
 * the network: oversized bodies answered with 413 rather than a reset, `wait` requests the
 * client abandons, the WebSocket event stream, back-pressure with Retry-After.
 */
import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isResourceId } from "../../src/api/route-context.js";
import {
  batchList,
  injectServer,
  newSdkSigner,
  sdkBatchList,
  sdkIntkeyBatch,
  settingsBatch,
  startTestNode,
  type TestNode,
} from "./helpers.js";
import { connect } from "./ws-client.js";

const running: TestNode[] = [];

async function start(
  options: Parameters<typeof startTestNode>[0] = {},
): Promise<TestNode & { url: string }> {
  const test = await startTestNode({ listen: true, ...options });
  running.push(test);
  if (test.url === undefined) throw new Error("the node's API did not start");
  return { ...test, url: test.url };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
});

const octet = { "content-type": "application/octet-stream" };

async function statusOf(url: string): Promise<number> {
  return (await fetch(`${url}/v1/status`)).status;
}

describe("API over real sockets", () => {
  it("answers an oversized body with 413 and the envelope, and keeps serving", async () => {
    const { url } = await start();
    // One byte over the 10 MiB BatchList limit: refused from Content-Length, before reading.
    const body = new Uint8Array(10 * 1024 * 1024 + 1);
    const response = await fetch(`${url}/batches`, { method: "POST", headers: octet, body });
    expect(response.status).toBe(413);
    const envelope = (await response.json()) as {
      error: { code: number; reason: string; message: string };
    };
    expect(envelope.error).toMatchObject({ code: 100, reason: "BATCH_LIST_TOO_LARGE" });
    expect(envelope.error.message).toMatch(/larger than/);

    // A JSON body over the 1 MiB JSON limit on another route gets the same treatment.
    const json = JSON.stringify(Array.from({ length: 9000 }, () => "a".repeat(128)));
    const tooBig = await fetch(`${url}/batch_statuses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: json,
    });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: { reason: string } }).error.reason).toBe(
      "REQUEST_TOO_LARGE",
    );
    expect(await statusOf(url)).toBe(200);
  });

  it("answers a chunked body that grows past the limit with 413", async () => {
    const { url } = await start();
    const target = new URL(`${url}/batches`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: octet,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      // No Content-Length: the limit is found while reading, 1 MiB at a time.
      const chunk = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < 11; i++) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
    expect(await statusOf(url)).toBe(200);
  });

  it("refuses a full queue with 429, code 31 and Retry-After", async () => {
    const { url } = await start({ paused: true, mempool: { maxBatches: 2 } });
    const signer = newSdkSigner();
    const first = sdkIntkeyBatch(signer, "q1");
    const second = sdkIntkeyBatch(signer, "q2");
    const third = sdkIntkeyBatch(signer, "q3");
    const accepted = await fetch(`${url}/batches`, {
      method: "POST",
      headers: octet,
      body: sdkBatchList([first.batch, second.batch]),
    });
    expect(accepted.status).toBe(202);
    const refused = await fetch(`${url}/batches`, {
      method: "POST",
      headers: octet,
      body: sdkBatchList([third.batch]),
    });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect(
      ((await refused.json()) as { error: { code: number; reason: string } }).error,
    ).toMatchObject({ code: 31, reason: "QUEUE_FULL" });
    expect(await statusOf(url)).toBe(200);
  });

  it("ends a wait the client abandons without leaving a waiter behind", async () => {
    // Our own server over the node, to see its wait count.
    const test = await startTestNode({ paused: true });
    running.push(test);
    const api = injectServer(test.node);
    const url = await api.listen("127.0.0.1", 0);
    try {
      const signer = newSdkSigner();
      const { batch, batchId } = sdkIntkeyBatch(signer, "pending");
      expect(
        (
          await fetch(`${url}/batches`, {
            method: "POST",
            headers: octet,
            body: sdkBatchList([batch]),
          })
        ).status,
      ).toBe(202);

      const controller = new AbortController();
      const waiting = fetch(`${url}/batch_statuses?id=${batchId}&wait=120`, {
        signal: controller.signal,
      });
      // The batch stays PENDING (consensus is stopped), so the request is parked until aborted.
      await vi.waitFor(() => expect(api.activeWaits).toBe(1), { timeout: 10_000 });
      controller.abort();
      await expect(waiting).rejects.toThrow();
      await vi.waitFor(() => expect(api.activeWaits).toBe(0), { timeout: 10_000 });

      // The node keeps serving, and a short wait still answers PENDING when it runs out.
      const short = await fetch(`${url}/batch_statuses?id=${batchId}&wait=1`);
      expect(((await short.json()) as { data: { status: string }[] }).data[0]?.status).toBe(
        "PENDING",
      );
      expect(api.activeWaits).toBe(0);

      // Closing the server ends a wait in progress at once instead of after its timeout.
      const parked = fetch(`${url}/batch_statuses?id=${batchId}&wait=120`);
      await vi.waitFor(() => expect(api.activeWaits).toBe(1), { timeout: 10_000 });
      const closing = api.close();
      const answered = await parked;
      expect(answered.status).toBe(200);
      expect(((await answered.json()) as { data: { status: string }[] }).data[0]?.status).toBe(
        "PENDING",
      );
      await closing;
      expect(api.activeWaits).toBe(0);
    } finally {
      await api.close();
    }
  });

  it("streams block commits and family events over WebSocket, filtered by type prefix", async () => {
    const test = await start();
    const wsUrl = `${test.url.replace(/^http/, "ws")}/v1/events?types=sawtooth/block-commit,settings/`;
    const client = await connect(wsUrl);
    await client.next((m) => m.type === "subscribed");
    const everything = await connect(`${test.url.replace(/^http/, "ws")}/v1/events`);
    await everything.next((m) => m.type === "subscribed");
    const identityOnly = await connect(`${test.url.replace(/^http/, "ws")}/v1/events`);
    await identityOnly.next((m) => m.type === "subscribed");
    identityOnly.send({ type: "subscribe", eventTypes: ["identity/"] });
    await identityOnly.next(
      (m) =>
        m.type === "subscribed" && Array.isArray(m.eventTypes) && m.eventTypes[0] === "identity/",
    );

    const batch = settingsBatch(test.admin, "govchain.chain.name", "API test chain");
    const submitted = await fetch(`${test.url}/batches`, {
      method: "POST",
      headers: octet,
      body: batchList([batch]),
    });
    expect(submitted.status).toBe(202);

    const commit = await client.next((m) => m.type === "block-commit");
    expect(commit).toMatchObject({
      type: "block-commit",
      height: "1",
      batchIds: [batch.headerSignature],
      transactionCount: 1,
    });
    expect(typeof commit.id === "string" && isResourceId(commit.id)).toBe(true);
    expect(typeof commit.stateRoot).toBe("string");
    expect(typeof commit.timestampMs).toBe("number");
    const event = await client.next((m) => m.type === "event");
    expect(event).toMatchObject({
      type: "event",
      eventType: "settings/update",
      attributes: [{ key: "updated", value: "govchain.chain.name" }],
      transactionId: batch.transactions[0]?.headerSignature,
      height: "1",
    });
    expect(typeof event.data).toBe("string");

    await everything.next((m) => m.type === "event" && m.eventType === "settings/update");
    // The identity-only subscriber got neither the commit nor the settings event.
    const status = await fetch(`${test.url}/batch_statuses?id=${batch.headerSignature}&wait=10`);
    expect(((await status.json()) as { data: { status: string }[] }).data[0]?.status).toBe(
      "COMMITTED",
    );
    expect(identityOnly.messages.filter((m) => m.type !== "subscribed")).toEqual([]);

    // Bad subscription messages are answered, not fatal.
    client.send({ type: "subscribe", eventTypes: "nope" });
    await client.next((m) => m.type === "error");

    // Stopping the node closes the streams with "going away".
    const closed = client.closed;
    await test.stop();
    running.splice(running.indexOf(test), 1);
    expect((await closed).code).toBe(1001);
    everything.close();
    identityOnly.close();
  });

  it("answers a plain GET of the stream with 426 and the envelope", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/v1/events`);
    expect(response.status).toBe(426);
    expect(((await response.json()) as { error: { reason: string } }).error.reason).toBe(
      "UPGRADE_REQUIRED",
    );
  });
});
