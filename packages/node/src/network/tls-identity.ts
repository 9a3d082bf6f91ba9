/**
 * The ephemeral TLS identity of one transport run: a fresh Ed25519 key and a self-signed X.509
 * certificate for it. The certificate is not trusted by anyone — peers accept it only because a
 * hello signed with the node's chain key names its fingerprint (see `hello.ts`) — so it carries
 * nothing but the key: no extensions, a constant subject, a random serial.
 *
 * `node:crypto` parses certificates but cannot create them. The one shape needed here is a
 * fixed ~230-byte DER structure, so it is written out below (and checked in tests by OpenSSL's
 * own parser, signature verification and real TLS handshakes). `@peculiar/x509` was measured as
 * the library alternative: 200–340 ms to import, ~3.6 ms per certificate and a process-global
 * `reflect-metadata` polyfill, against ~0.3 ms here (docs/adr/0007-transport.md).
 */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import type { Clock } from "../common/clock.js";
import type { Random } from "../common/random.js";

/** The TLS key and certificate of one transport run. */
export interface TlsIdentity {
  /** PKCS#8 PEM of the ephemeral private key, as `node:tls` wants it. */
  readonly keyPem: string;
  /** PEM of the self-signed certificate. */
  readonly certificatePem: string;
  /** DER bytes of the certificate; peers hash exactly these bytes into the fingerprint. */
  readonly certificateDer: Uint8Array;
  /** The ephemeral public key (for tests and diagnostics). */
  readonly publicKey: KeyObject;
}

/** Options of `createTlsIdentity`. */
export interface TlsIdentityOptions {
  /** Sets the validity window (its start, one hour back to absorb clock skew). */
  readonly clock: Clock;
  /** Source of the 16-byte serial number (uniqueness, not secrecy). */
  readonly random: Random;
  /** Validity in days; default 3650. Nobody checks it, but an expired certificate looks broken. */
  readonly validityDays?: number;
}

// Ed25519's AlgorithmIdentifier (RFC 8410): SEQUENCE { OID 1.3.101.112 }, parameters absent.
const ED25519_ALGORITHM = Uint8Array.of(0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70);
// Name ::= SEQUENCE { SET { SEQUENCE { OID 2.5.4.3 (commonName), UTF8String } } }
const COMMON_NAME_OID = Uint8Array.of(0x06, 0x03, 0x55, 0x04, 0x03);
const SUBJECT = "govchain-node";
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A fresh Ed25519 key with a self-signed certificate. Costs ~0.3 ms (measured, docs/adr/0007-transport.md). */
export function createTlsIdentity(options: TlsIdentityOptions): TlsIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const notBefore = options.clock.now() - HOUR_MS;
  const notAfter = notBefore + (options.validityDays ?? 3650) * DAY_MS;
  const serial = options.random.bytes(16);
  // A positive INTEGER with no leading zero byte: clear the top bit, make the first byte nonzero.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const name = der(
    0x30,
    der(0x31, der(0x30, COMMON_NAME_OID, der(0x0c, new TextEncoder().encode(SUBJECT)))),
  );
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  const tbs = der(
    0x30,
    der(0xa0, der(0x02, Uint8Array.of(2))), // [0] EXPLICIT version v3
    der(0x02, serial),
    ED25519_ALGORITHM,
    name,
    der(0x30, derTime(notBefore), derTime(notAfter)),
    name,
    spki,
  );
  const signature = new Uint8Array(sign(null, tbs, privateKey));
  const certificateDer = der(0x30, tbs, ED25519_ALGORITHM, der(0x03, Uint8Array.of(0), signature));
  return {
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certificatePem: toPem("CERTIFICATE", certificateDer),
    certificateDer,
    publicKey,
  };
}

/** PEM armour of DER bytes. */
function toPem(label: string, bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** One DER TLV: `tag`, definite length, then the concatenated `parts`. */
function der(tag: number, ...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const lengthBytes: number[] = [];
  if (length < 0x80) lengthBytes.push(length);
  else {
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256))
      lengthBytes.unshift(rest & 0xff);
    lengthBytes.unshift(0x80 | lengthBytes.length);
  }
  const out = new Uint8Array(1 + lengthBytes.length + length);
  out[0] = tag;
  out.set(lengthBytes, 1);
  let offset = 1 + lengthBytes.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, `Z`. */
function derTime(epochMs: number): Uint8Array {
  const iso = new Date(Math.floor(epochMs / 1000) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = Number(iso.slice(0, 4));
  return year < 2050
    ? der(0x17, new TextEncoder().encode(digits.slice(2)))
    : der(0x18, new TextEncoder().encode(digits));
}
