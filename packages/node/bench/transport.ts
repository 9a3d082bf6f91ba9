/**
 * Transport micro-benchmark on loopback: 200-byte messages from one endpoint to another in the
 * same process, messages/s and CPU µs per message (sender + receiver together, from
 * `process.cpuUsage`), written one per `write` and coalesced; handshake times; start-up cost of
 * the ephemeral certificate. Cases run in alternating rounds (A, B, C, A, B, C, ...) so load from
 * other work on this shared machine hits every case alike; each row reports min–median–max.
 *
 *   npx tsx packages/node/bench/transport.ts [--rounds N] [--libp2p DIR] [--x509 DIR]
 *
 * `--libp2p DIR`: also measure js-libp2p (TCP + Noise + yamux), installed in a scratch directory
 * (`npm install libp2p @chainsafe/libp2p-noise @chainsafe/libp2p-yamux @libp2p/tcp` in DIR): it is
 * not a govchain dependency. Current versions call `Promise.withResolvers` (Node ≥ 22), so this
 * mode installs a polyfill first — see docs/adr/0007-transport.md for why that is acceptable in a
 * benchmark and not in a validator. `--x509 DIR`: also time `@peculiar/x509` (with
 * `reflect-metadata`) installed in DIR. A benchmark, not a test: it asserts only that every
 * message arrived.
 */
import { writeFileSync } from "node:fs";
import {
  createServer as createNetServer,
  connect as netConnect,
  type Server,
  type Socket,
} from "node:net";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { argv } from "node:process";
import {
  createSecureContext,
  type TLSSocket,
  TLSSocket as TLSSocketClass,
  connect as tlsConnect,
} from "node:tls";
import { pathToFileURL } from "node:url";
import { systemClock } from "../src/common/clock.js";
import { systemRandom } from "../src/common/random.js";
import { getSuite } from "../src/crypto/index.js";
import { createTlsIdentity } from "../src/network/tls-identity.js";
import { createTlsTransport, type TlsTransport } from "../src/network/tls-transport.js";

const MESSAGE_BYTES = 200;
const BURST = 256; // messages written per event-loop turn
const TARGET_MS = 400; // each timed run aims at this duration
const args = argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROUNDS = Number(option("--rounds") ?? 5);
const LIBP2P_DIR = option("--libp2p");
const X509_DIR = option("--x509");

const message = new Uint8Array(MESSAGE_BYTES).fill(0x5a);
const now = (): number => systemClock.monotonic();
/** Progress on stderr, so a stalled run shows where it stalled. */
const progress = (stage: string): void => {
  process.stderr.write(`bench: ${stage}\n`);
};
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A connected sender/receiver pair for one case. */
interface Pipe {
  readonly name: string;
  /** Sends `count` messages and resolves when the receiver has them all. */
  run(count: number): Promise<void>;
  close(): Promise<void>;
}

interface Sample {
  readonly rate: number;
  readonly cpuUs: number;
}

/** Times one run of `count` messages. */
async function timed(pipe: Pipe, count: number): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = now();
  await pipe.run(count);
  const ms = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: (count * 1000) / ms, cpuUs: (cpu.user + cpu.system) / count };
}

/** Resolves when the receiver's counter reaches `target`. */
function arrival(): { add(n: number): void; until(target: number): Promise<void>; reset(): void } {
  let received = 0;
  let waiter: { target: number; resolve: () => void } | undefined;
  return {
    add(n) {
      received += n;
      if (waiter !== undefined && received >= waiter.target) {
        const w = waiter;
        waiter = undefined;
        w.resolve();
      }
    },
    until(target) {
      if (received >= target) return Promise.resolve();
      return new Promise((resolve) => {
        waiter = { target, resolve };
      });
    },
    reset() {
      received = 0;
    },
  };
}

/**
 * How messages are written: `turn` = one message per event-loop turn (a lone vote: one write,
 * one TLS record, one syscall each); `none` = BURST writes per turn (Node's TLS stream queues
 * writes issued while one is in flight and hands them to OpenSSL together via writev, so this is
 * already partly coalesced); `cork` = the same inside cork/uncork; `concat` = one buffer per turn.
 */
type WriteMode = "turn" | "none" | "cork" | "concat";

const MODE_LABEL: Record<WriteMode, string> = {
  turn: "1 message per turn",
  none: `${BURST} writes per turn`,
  cork: `${BURST} writes in cork/uncork`,
  concat: `coalesced, 1 write of ${BURST} per turn`,
};

/** Writes `count` messages as `mode` says, honouring backpressure. */
async function pump(socket: Socket, count: number, coalesce: WriteMode): Promise<void> {
  const one = Buffer.from(message);
  for (let sent = 0; sent < count; ) {
    const n = coalesce === "turn" ? 1 : Math.min(BURST, count - sent);
    let ok = true;
    if (coalesce === "concat") {
      // The copy a real coalescing queue makes is part of the cost.
      const chunk = Buffer.allocUnsafe(n * MESSAGE_BYTES);
      for (let i = 0; i < n; i++) chunk.set(one, i * MESSAGE_BYTES);
      ok = socket.write(chunk);
    } else {
      if (coalesce === "cork") socket.cork();
      for (let i = 0; i < n; i++) ok = socket.write(one) && ok;
      if (coalesce === "cork") socket.uncork();
    }
    sent += n;
    if (!ok) await new Promise<void>((resolve) => socket.once("drain", () => resolve()));
    else await turn();
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return (server.address() as { port: number }).port;
}

/** Raw TCP, the floor every encrypted transport adds to. */
async function tcpPipe(coalesce: WriteMode): Promise<Pipe> {
  const got = arrival();
  const server = createNetServer((s) => s.on("data", (d: Buffer) => got.add(d.length)));
  const port = await listen(server);
  const client = netConnect({ host: "127.0.0.1", port, noDelay: true });
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return {
    name: `tcp, ${MODE_LABEL[coalesce]}`,
    async run(count) {
      got.reset();
      await Promise.all([pump(client, count, coalesce), got.until(count * MESSAGE_BYTES)]);
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** TLS 1.3 sockets as the transport sets them up (ephemeral Ed25519 certificates, mutual). */
async function tlsPair(
  ciphersuites?: string,
): Promise<{ server: Server; client: TLSSocket; onData: (fn: (d: Buffer) => void) => void }> {
  const a = createTlsIdentity({ clock: systemClock, random: systemRandom });
  const b = createTlsIdentity({ clock: systemClock, random: systemRandom });
  const serverContext = createSecureContext({
    key: a.keyPem,
    cert: a.certificatePem,
    minVersion: "TLSv1.3",
    ...(ciphersuites ? { ciphersuites } : {}),
  });
  const clientContext = createSecureContext({
    key: b.keyPem,
    cert: b.certificatePem,
    minVersion: "TLSv1.3",
    ...(ciphersuites ? { ciphersuites } : {}),
  });
  let handler: (d: Buffer) => void = () => {};
  const server = createNetServer((raw) => {
    raw.setNoDelay(true);
    const s = new TLSSocketClass(raw, {
      isServer: true,
      secureContext: serverContext,
      requestCert: true,
      rejectUnauthorized: false,
    });
    s.on("data", (d: Buffer) => handler(d));
  });
  const port = await listen(server);
  const client = tlsConnect({
    host: "127.0.0.1",
    port,
    secureContext: clientContext,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  client.setNoDelay(true);
  await new Promise<void>((resolve) => client.once("secureConnect", () => resolve()));
  return { server, client, onData: (fn) => (handler = fn) };
}

async function tlsPipe(coalesce: WriteMode, ciphersuites?: string): Promise<Pipe> {
  const got = arrival();
  const { server, client, onData } = await tlsPair(ciphersuites);
  onData((d) => got.add(d.length));
  return {
    name: `tls 1.3${ciphersuites ? ` ${ciphersuites.replace("TLS_", "").replace(/_SHA\d+$/, "")}` : ""}, ${MODE_LABEL[coalesce]}`,
    async run(count) {
      got.reset();
      await Promise.all([pump(client, count, coalesce), got.until(count * MESSAGE_BYTES)]);
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A pair of govchain transports, connected and authenticated. */
async function transportPair(): Promise<{ a: TlsTransport; b: TlsTransport }> {
  const suite = getSuite("standard");
  const sa = suite.createSigner(suite.generateKey());
  const sb = suite.createSigner(suite.generateKey());
  const common = { chainId: "bench", suite, heartbeatIntervalMs: 60_000 } as const;
  const a = createTlsTransport({ ...common, localId: "a", signer: sa });
  const b = createTlsTransport({ ...common, localId: "b", signer: sb });
  await a.start();
  await b.start();
  const connected = new Promise<void>((resolve) => a.onPeerChange((p) => p.connected && resolve()));
  a.setPeers([{ id: "b", publicKey: sb.publicKeyHex, endpoint: b.listenEndpoint as string }]);
  b.setPeers([{ id: "a", publicKey: sa.publicKeyHex }]);
  await connected;
  return { a, b };
}

/** `Transport.send` per message: framing, the per-turn coalescing queue, decoding, dispatch. */
async function transportPipe(perTurn: number): Promise<Pipe> {
  const got = arrival();
  const { a, b } = await transportPair();
  b.onFrame(() => got.add(1));
  return {
    name: `govchain TlsTransport.send, ${perTurn === 1 ? MODE_LABEL.turn : `${perTurn} sends per turn (coalesced by the transport)`}`,
    async run(count) {
      got.reset();
      const done = got.until(count);
      for (let sent = 0; sent < count; ) {
        const n = Math.min(perTurn, count - sent);
        for (let i = 0; i < n; i++) {
          while (!a.send("b", message)) await turn(); // queue full: let it drain
        }
        sent += n;
        await turn();
      }
      await done;
    },
    async close() {
      await a.stop();
      await b.stop();
    },
  };
}

// ---- js-libp2p (optional) ------------------------------------------------------------------------

interface Libp2pStream {
  send(data: Uint8Array): boolean;
  onDrain(): Promise<void>;
  addEventListener(event: "message", fn: (e: { data: { byteLength: number } }) => void): void;
}
interface Libp2pNode {
  handle(protocol: string, handler: (stream: Libp2pStream) => void): Promise<void>;
  dialProtocol(address: unknown, protocol: string): Promise<Libp2pStream>;
  getMultiaddrs(): unknown[];
  hangUp(address: unknown): Promise<void>;
  stop(): Promise<void>;
}
interface Libp2pModule {
  createNode(): Promise<Libp2pNode>;
}

async function loadLibp2p(dir: string): Promise<Libp2pModule> {
  // Current js-libp2p needs Promise.withResolvers (Node 22); a benchmark may polyfill it.
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers !== "function") {
    Object.defineProperty(Promise, "withResolvers", {
      configurable: true,
      writable: true,
      value<T>() {
        let resolve!: (v: T) => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        return { promise, resolve, reject };
      },
    });
  }
  const entry = join(dir, "govchain-bench-entry.mjs");
  writeFileSync(
    entry,
    [
      'import { createLibp2p } from "libp2p";',
      'import { tcp } from "@libp2p/tcp";',
      'import { noise } from "@chainsafe/libp2p-noise";',
      'import { yamux } from "@chainsafe/libp2p-yamux";',
      "export const createNode = () => createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });",
      "",
    ].join("\n"),
  );
  return (await import(pathToFileURL(entry).href)) as Libp2pModule;
}

async function libp2pPipe(lib: Libp2pModule, coalesce: WriteMode): Promise<Pipe> {
  const got = arrival();
  const a = await lib.createNode();
  const b = await lib.createNode();
  await b.handle("/bench/1", (stream) =>
    stream.addEventListener("message", (e) => got.add(e.data.byteLength)),
  );
  const stream = await a.dialProtocol(b.getMultiaddrs()[0], "/bench/1");
  return {
    name: `js-libp2p noise+yamux, ${MODE_LABEL[coalesce].replace("writes", "sends")}`,
    async run(count) {
      got.reset();
      const done = got.until(count * MESSAGE_BYTES);
      for (let sent = 0; sent < count; ) {
        const n = coalesce === "turn" ? 1 : Math.min(BURST, count - sent);
        let ok = true;
        if (coalesce === "concat") {
          const chunk = new Uint8Array(n * MESSAGE_BYTES);
          for (let i = 0; i < n; i++) chunk.set(message, i * MESSAGE_BYTES);
          ok = stream.send(chunk);
        } else for (let i = 0; i < n; i++) ok = stream.send(message) && ok;
        sent += n;
        if (!ok) await stream.onDrain();
        else await turn();
      }
      await done;
    },
    async close() {
      await a.stop();
      await b.stop();
    },
  };
}

// ---- handshakes and start-up ---------------------------------------------------------------------

/** Min, median and max of `n` runs of `fn`, in ms; `fn` may return its own measured time. */
async function medianMs(
  n: number,
  fn: () => Promise<number | undefined> | number | undefined,
): Promise<{ median: number; min: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    const own = await fn();
    times.push(typeof own === "number" ? own : now() - t0);
  }
  times.sort((x, y) => x - y);
  return {
    median: times[Math.floor(n / 2)] as number,
    min: times[0] as number,
    max: times[n - 1] as number,
  };
}

async function handshakes(lib: Libp2pModule | undefined): Promise<string[]> {
  const lines: string[] = [];
  progress("handshakes");
  const fmt = (name: string, r: { median: number; min: number; max: number }): string =>
    `| ${name} | ${r.min.toFixed(2)} | ${r.median.toFixed(2)} | ${r.max.toFixed(2)} |`;

  // Bare TLS 1.3 handshake with mutual certificates.
  const a = createTlsIdentity({ clock: systemClock, random: systemRandom });
  const b = createTlsIdentity({ clock: systemClock, random: systemRandom });
  const serverContext = createSecureContext({
    key: a.keyPem,
    cert: a.certificatePem,
    minVersion: "TLSv1.3",
  });
  const clientContext = createSecureContext({
    key: b.keyPem,
    cert: b.certificatePem,
    minVersion: "TLSv1.3",
  });
  const server = createNetServer((raw) => {
    const s = new TLSSocketClass(raw, {
      isServer: true,
      secureContext: serverContext,
      requestCert: true,
      rejectUnauthorized: false,
    });
    s.on("error", () => {});
    s.on("end", () => s.end());
  });
  const port = await listen(server);
  lines.push(
    fmt(
      "TLS 1.3 handshake, mutual Ed25519 certificates (TCP connect → secureConnect)",
      await medianMs(40, async () => {
        const c = tlsConnect({
          host: "127.0.0.1",
          port,
          secureContext: clientContext,
          rejectUnauthorized: false,
          checkServerIdentity: () => undefined,
        });
        c.on("error", (err) => console.error("bench: TLS client error", err.message));
        await new Promise<void>((resolve) => c.once("secureConnect", () => resolve()));
        c.end();
      }),
    ),
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));

  progress("govchain link handshake");
  // The whole govchain link: TLS + NONCE + signed HELLO + READY, both sides connected.
  const { a: ta, b: tb } = await transportPair();
  const configs = ta.peers();
  const bConfig = {
    id: "b",
    publicKey: configs[0]?.publicKey as string,
    endpoint: tb.listenEndpoint as string,
  };
  lines.push(
    fmt(
      "govchain link: TLS + nonce + Ed25519-signed hello + ready",
      await medianMs(40, async () => {
        ta.setPeers([]);
        await new Promise<void>((resolve) => {
          const off = tb.onPeerChange((p) => {
            if (!p.connected) {
              off();
              resolve();
            }
          });
          if (!tb.peers()[0]?.connected) {
            off();
            resolve();
          }
        });
        const connected = new Promise<void>((resolve) => {
          const off = ta.onPeerChange((p) => {
            if (p.connected) {
              off();
              resolve();
            }
          });
        });
        const t0 = now();
        ta.setPeers([bConfig]);
        await connected;
        return now() - t0;
      }),
    ),
  );
  await ta.stop();
  await tb.stop();

  if (lib !== undefined) {
    progress("js-libp2p handshake");
    // A fresh listener per dial: js-libp2p limits inbound connections per host (5/s by default)
    // by resetting the socket, and its dialler leaves that reset unhandled (it ends the process).
    const x = await lib.createNode();
    lines.push(
      fmt(
        "js-libp2p: TCP + Noise XX + yamux + multistream protocol select (fresh listener each)",
        await medianMs(20, async () => {
          const y = await lib.createNode();
          await y.handle("/bench/1", () => {});
          const address = y.getMultiaddrs()[0];
          const t0 = now();
          await x.dialProtocol(address, "/bench/1");
          const ms = now() - t0;
          await x.hangUp(address);
          await y.stop();
          return ms;
        }),
      ),
    );
    await x.stop();
  }

  // Start-up: the ephemeral identity.
  createTlsIdentity({ clock: systemClock, random: systemRandom });
  lines.push(
    fmt(
      "ephemeral Ed25519 key + self-signed certificate (hand-written DER)",
      await medianMs(
        200,
        () => void createTlsIdentity({ clock: systemClock, random: systemRandom }),
      ),
    ),
  );
  if (X509_DIR !== undefined) {
    const t0 = now();
    await import(pathToFileURL(join(X509_DIR, "node_modules/reflect-metadata/Reflect.js")).href);
    const x509 = (await import(
      pathToFileURL(join(X509_DIR, "node_modules/@peculiar/x509/build/x509.es.js")).href
    )) as {
      cryptoProvider: { set(c: unknown): void };
      X509CertificateGenerator: { createSelfSigned(o: unknown): Promise<unknown> };
    };
    const importMs = now() - t0;
    const { webcrypto } = await import("node:crypto");
    x509.cryptoProvider.set(webcrypto);
    const gen = async (): Promise<void> => {
      const keys = await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, [
        "sign",
        "verify",
      ]);
      await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "01",
        name: "CN=govchain-node",
        notBefore: new Date(systemClock.now() - 3_600_000),
        notAfter: new Date(systemClock.now() + 3650 * 86_400_000),
        signingAlgorithm: { name: "Ed25519" },
        keys,
      });
    };
    await gen();
    lines.push(
      `| @peculiar/x509 import (with reflect-metadata), once | ${importMs.toFixed(1)} | | |`,
    );
    lines.push(
      fmt(
        "@peculiar/x509 Ed25519 self-signed certificate",
        await medianMs(50, async () => {
          await gen();
          return undefined;
        }),
      ),
    );
  }
  return lines;
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const lib = LIBP2P_DIR === undefined ? undefined : await loadLibp2p(LIBP2P_DIR);
  const strayErrors: string[] = [];
  if (lib !== undefined) {
    // Under the polyfill, stopped js-libp2p nodes were seen to leave a socket whose error nobody
    // handles (ECONNRESET), which would end the run: count and report such errors instead.
    process.on("uncaughtException", (err) => strayErrors.push(err.message));
  }
  const handshakeLines = await handshakes(lib);
  const makers: (() => Promise<Pipe>)[] = [
    () => tcpPipe("turn"),
    () => tcpPipe("none"),
    () => tcpPipe("concat"),
    () => tlsPipe("turn"),
    () => tlsPipe("none"),
    () => tlsPipe("cork"),
    () => tlsPipe("concat"),
    () => tlsPipe("concat", "TLS_AES_128_GCM_SHA256"),
    () => tlsPipe("concat", "TLS_CHACHA20_POLY1305_SHA256"),
    () => transportPipe(1),
    () => transportPipe(BURST),
  ];
  if (lib !== undefined)
    makers.push(
      () => libp2pPipe(lib, "turn"),
      () => libp2pPipe(lib, "none"),
      () => libp2pPipe(lib, "concat"),
    );
  const pipes: Pipe[] = [];
  for (const make of makers) pipes.push(await make());
  // Calibrate a message count per case for ~TARGET_MS, after a warm-up.
  const counts = new Map<Pipe, number>();
  for (const pipe of pipes) {
    await pipe.run(1_000);
    const sample = await timed(pipe, 5_000);
    counts.set(pipe, Math.max(5_000, Math.round((sample.rate * TARGET_MS) / 1000 / BURST) * BURST));
  }
  const samples = new Map<Pipe, Sample[]>(pipes.map((p) => [p, []]));
  for (let round = 0; round < ROUNDS; round++) {
    progress(`round ${round + 1} of ${ROUNDS}`);
    for (const pipe of pipes)
      samples.get(pipe)?.push(await timed(pipe, counts.get(pipe) as number));
  }
  for (const pipe of pipes) await pipe.close();

  const range = (values: number[], digits: number): string => {
    const sorted = [...values].sort((x, y) => x - y);
    const mid = sorted[Math.floor(sorted.length / 2)] as number;
    const f = (v: number): string =>
      digits === 0 ? Math.round(v).toLocaleString("en-US") : v.toFixed(digits);
    return `${f(sorted[0] as number)} – **${f(mid)}** – ${f(sorted[sorted.length - 1] as number)}`;
  };
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `\nTransport benchmark — ${new Date(systemClock.now()).toISOString()}, Node ${process.version}, OpenSSL ${process.versions.openssl}`,
  );
  console.log(
    `${cpus().length} × ${cpu}; load average at start ${loadavg()
      .map((n) => n.toFixed(2))
      .join(" ")}; ${ROUNDS} alternating rounds\n`,
  );
  console.log(
    `${MESSAGE_BYTES}-byte messages, sender and receiver in one process (CPU is both sides together), min – **median** – max:\n`,
  );
  console.log("| case | messages/s | CPU µs per message |");
  console.log("|---|---|---|");
  for (const pipe of pipes) {
    const s = samples.get(pipe) as Sample[];
    console.log(
      `| ${pipe.name} | ${range(
        s.map((x) => x.rate),
        0,
      )} | ${range(
        s.map((x) => x.cpuUs),
        2,
      )} |`,
    );
  }
  console.log("\nHandshakes and start-up (ms):\n");
  console.log("| what | min | median | max |");
  console.log("|---|---|---|---|");
  for (const line of handshakeLines) console.log(line);
  if (lib !== undefined)
    console.log(
      `\nUncaught errors raised inside js-libp2p during the run: ${strayErrors.length} ${JSON.stringify([...new Set(strayErrors)])}`,
    );
}

await main();
