/**
 * The authentication handshake that runs inside TLS. TLS proves that the other side holds the
 * private key of the certificate it presented (TLS 1.3 CertificateVerify), but that key is an
 * ephemeral one nobody knows. The hello ties it to the node's CHAIN key:
 *
 *   sign_chainKey("govchain/transport/hello/v1" ‖ CBOR{chain, id, fp, nonce, v})
 *
 * where `fp` is the suite hash of the sender's certificate as presented on this connection and
 * `nonce` is the 32 random bytes the receiver sent on this connection. So a hello is valid only
 * on the connection it was made for: replaying it elsewhere fails on the nonce, relaying it
 * through a member's own TLS connection fails on the fingerprint. Checks run in a fixed order
 * so each rejection has one clear reason; the signature (which covers every checked field) is
 * verified last because it is the expensive step.
 */
import { concatBytes, equalBytes, fromHex, toHex, utf8 } from "../common/bytes.js";
import { decodeCbor, encodeCbor } from "../common/cbor.js";
import type { CryptoSuite, Signer } from "../crypto/interface.js";
import { CloseReason } from "./errors.js";

/** Version of the link protocol, sent in the NONCE frame and inside every hello. */
export const TRANSPORT_PROTOCOL_VERSION = 1;
/** Length of a connection nonce. */
export const NONCE_BYTES = 32;
/** Domain separation: a hello signature can never be mistaken for a transaction or vote signature. */
const HELLO_DOMAIN = utf8("govchain/transport/hello/v1\0");

/** A decoded hello. Every field is the sender's claim until `checkHello` accepts it. */
export interface Hello {
  readonly chainId: string;
  readonly nodeId: string;
  /** The sender's chain public key (suite encoding). */
  readonly publicKey: Uint8Array;
  /** Suite hash of the sender's TLS certificate (DER). */
  readonly fingerprint: Uint8Array;
  /** The receiver's nonce being answered. */
  readonly nonce: Uint8Array;
  readonly signature: Uint8Array;
}

/** The bytes a hello signs. */
export function helloSigningBytes(fields: {
  readonly chainId: string;
  readonly nodeId: string;
  readonly fingerprint: Uint8Array;
  readonly nonce: Uint8Array;
}): Uint8Array {
  const body = encodeCbor({
    v: TRANSPORT_PROTOCOL_VERSION,
    chain: fields.chainId,
    id: fields.nodeId,
    fp: fields.fingerprint,
    nonce: fields.nonce,
  });
  return concatBytes(HELLO_DOMAIN, body);
}

/** A hello signed by `signer` answering `nonce` on a connection where we present `fingerprint`. */
export function createHello(
  signer: Signer,
  fields: {
    readonly chainId: string;
    readonly nodeId: string;
    readonly fingerprint: Uint8Array;
    readonly nonce: Uint8Array;
  },
): Hello {
  return {
    ...fields,
    publicKey: signer.publicKey,
    signature: signer.sign(helloSigningBytes(fields)),
  };
}

/** The HELLO frame payload. */
export function encodeHello(hello: Hello): Uint8Array {
  return encodeCbor({
    v: TRANSPORT_PROTOCOL_VERSION,
    chain: hello.chainId,
    id: hello.nodeId,
    key: hello.publicKey,
    fp: hello.fingerprint,
    nonce: hello.nonce,
    sig: hello.signature,
  });
}

/** Parses a HELLO payload; undefined when it is not a well-formed version-1 hello. */
export function decodeHello(payload: Uint8Array): Hello | undefined {
  let value: unknown;
  try {
    value = decodeCbor(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { chain, id, key, fp, nonce, sig } = v;
  if (v.v !== TRANSPORT_PROTOCOL_VERSION) return undefined;
  if (typeof chain !== "string" || typeof id !== "string") return undefined;
  if (
    !(
      key instanceof Uint8Array &&
      fp instanceof Uint8Array &&
      nonce instanceof Uint8Array &&
      sig instanceof Uint8Array
    )
  ) {
    return undefined;
  }
  return { chainId: chain, nodeId: id, publicKey: key, fingerprint: fp, nonce, signature: sig };
}

/** The NONCE frame payload: protocol version, then the nonce. */
export function encodeNonceFrame(nonce: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(TRANSPORT_PROTOCOL_VERSION), nonce);
}

/** The nonce of a NONCE payload; undefined for another version or a wrong length. */
export function decodeNonceFrame(payload: Uint8Array): Uint8Array | undefined {
  if (payload.length !== 1 + NONCE_BYTES || payload[0] !== TRANSPORT_PROTOCOL_VERSION)
    return undefined;
  return payload.subarray(1);
}

/** What the receiver of a hello knows independently of it. */
export interface HelloExpectation {
  readonly suite: CryptoSuite;
  readonly chainId: string;
  readonly localId: string;
  /** Lower-case hex of the local chain key (a hello with it is from ourselves). */
  readonly localPublicKey: string;
  /** Suite hash of the certificate the peer presented on this connection. */
  readonly fingerprint: Uint8Array;
  /** The nonce we sent on this connection. */
  readonly nonce: Uint8Array;
  /** The id we dialled, for outbound connections. */
  readonly expectedPeerId: string | undefined;
  /** The configured id owning a chain key (lower-case hex), if any. */
  readonly idOfKey: (publicKeyHex: string) => string | undefined;
}

/** The outcome of `checkHello`. */
export type HelloCheck =
  | { readonly ok: true; readonly peerId: string }
  | { readonly ok: false; readonly reason: CloseReason; readonly detail: string };

/** Decides whether `hello` authenticates a member of the peer set on this connection. */
export function checkHello(hello: Hello, expect: HelloExpectation): HelloCheck {
  const reject = (reason: CloseReason, detail: string): HelloCheck => ({
    ok: false,
    reason,
    detail,
  });
  if (hello.chainId !== expect.chainId) {
    return reject(
      CloseReason.WRONG_CHAIN,
      `hello is for chain ${JSON.stringify(hello.chainId.slice(0, 80))}`,
    );
  }
  const keyHex = toHex(hello.publicKey);
  if (keyHex === expect.localPublicKey)
    return reject(CloseReason.SELF_CONNECTION, "hello carries our own key");
  const owner = expect.idOfKey(keyHex);
  if (owner === undefined)
    return reject(CloseReason.UNKNOWN_KEY, `key ${keyHex.slice(0, 16)}… is not in the peer set`);
  if (owner !== hello.nodeId) {
    return reject(
      CloseReason.ID_MISMATCH,
      `key belongs to ${owner}, hello claims ${JSON.stringify(hello.nodeId.slice(0, 80))}`,
    );
  }
  if (expect.expectedPeerId !== undefined && owner !== expect.expectedPeerId) {
    return reject(
      CloseReason.ID_MISMATCH,
      `dialled ${expect.expectedPeerId} but ${owner} answered`,
    );
  }
  if (!equalBytes(hello.fingerprint, expect.fingerprint)) {
    return reject(
      CloseReason.FINGERPRINT_MISMATCH,
      "hello names another TLS certificate than the one presented",
    );
  }
  if (!equalBytes(hello.nonce, expect.nonce)) {
    return reject(CloseReason.STALE_NONCE, "hello answers another connection's nonce (replayed)");
  }
  // Verify over what WE expect, not what the hello says: equal by now, but this keeps the
  // signature check meaningful even if a check above were ever loosened.
  const message = helloSigningBytes({
    chainId: expect.chainId,
    nodeId: owner,
    fingerprint: expect.fingerprint,
    nonce: expect.nonce,
  });
  if (!expect.suite.verify(fromHex(keyHex), message, hello.signature)) {
    return reject(
      CloseReason.BAD_SIGNATURE,
      "hello signature does not verify under the configured key",
    );
  }
  return { ok: true, peerId: owner };
}
