/**
 * A typed view of the `ws` client (it ships no type declarations), and a helper that collects
 * a WebSocket's JSON messages so tests can wait for the one they expect.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** The parts of a `ws` client the tests use. */
export interface WsClient {
  on(event: "open", listener: () => void): void;
  on(event: "message", listener: (data: Buffer) => void): void;
  on(event: "close", listener: (code: number, reason: Buffer) => void): void;
  on(event: "error", listener: (err: Error) => void): void;
  on(
    event: "unexpected-response",
    listener: (request: unknown, response: { statusCode: number }) => void,
  ): void;
  send(data: string): void;
  close(): void;
  terminate(): void;
}

const WebSocketClass: new (url: string) => WsClient = require("ws");

/** A connected client with its received messages. */
export interface CollectingClient {
  readonly messages: Record<string, unknown>[];
  /** Resolves with the first message (already received or future) that `match` accepts. */
  next(
    match: (message: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  close(): void;
}

/** Connects to `url` and collects its JSON messages. */
export async function connect(url: string): Promise<CollectingClient> {
  const socket = new WebSocketClass(url);
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on("close", (code, reason) => {
      resolve({ code, reason: reason.toString("utf8") });
      for (const wake of [...waiters]) wake();
    });
  });
  socket.on("message", (data) => {
    messages.push(JSON.parse(data.toString("utf8")) as Record<string, unknown>);
    for (const wake of [...waiters]) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.on("open", () => resolve());
    socket.on("error", reject);
    socket.on("unexpected-response", (_request, response) =>
      reject(new Error(`unexpected HTTP ${response.statusCode}`)),
    );
  });
  return {
    messages,
    closed,
    next(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`,
            ),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    send(message) {
      socket.send(JSON.stringify(message));
    },
    close() {
      socket.close();
    },
  };
}
