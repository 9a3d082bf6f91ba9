/**
 * PBFT messages, their canonical encoding and their authentication.
 *
 * Every message travels in an envelope `[sender, body, signature]`. The signature covers a
 * domain tag naming the protocol version, the chain and the message TYPE, followed by the body:
 * a PREPARE can never be replayed as a COMMIT, and no message of one chain is valid on another.
 * Bodies are canonical CBOR arrays, so a body has exactly one encoding and a re-encoded
 * certificate verifies byte for byte.
 *
 * Nested messages (checkpoint proofs and prepared certificates inside VIEW-CHANGE, the
 * VIEW-CHANGEs and PRE-PREPAREs inside NEW-VIEW) are full envelopes and are verified when the
 * outer message is opened, so the state machine only ever sees authenticated messages.
 */
import { decode, encode } from "cborg";
import { GovchainError } from "../../common/errors.js";

/** What a primary proposes: a block, identified by its id, extending `parentId`. */
export interface Proposal {
  readonly blockId: string;
  readonly parentId: string;
  /** The block in the host's encoding (opaque to PBFT). */
  readonly payload: Uint8Array;
}

/** A stable checkpoint and the quorum of CHECKPOINT messages proving it (empty for genesis). */
export interface CheckpointProof {
  readonly seq: number;
  readonly blockId: string;
  readonly stateRoot: string;
  readonly proof: readonly SignedMessage[];
}

/** A prepared certificate: the PRE-PREPARE and matching PREPAREs from a quorum less the primary. */
export interface PreparedProof {
  readonly prePrepare: SignedMessage;
  readonly prepares: readonly SignedMessage[];
}

/** The PBFT messages. `view` of a VIEW-CHANGE / NEW-VIEW is the view being moved to. */
export type PbftMessage =
  | {
      readonly type: "pre-prepare";
      readonly view: number;
      readonly seq: number;
      readonly proposal: Proposal;
    }
  | {
      readonly type: "prepare";
      readonly view: number;
      readonly seq: number;
      readonly blockId: string;
    }
  | {
      readonly type: "commit";
      readonly view: number;
      readonly seq: number;
      readonly blockId: string;
    }
  | {
      readonly type: "checkpoint";
      readonly seq: number;
      readonly blockId: string;
      readonly stateRoot: string;
    }
  | {
      readonly type: "view-change";
      readonly view: number;
      readonly stable: CheckpointProof;
      readonly prepared: readonly PreparedProof[];
    }
  | {
      readonly type: "new-view";
      readonly view: number;
      readonly viewChanges: readonly SignedMessage[];
      readonly prePrepares: readonly SignedMessage[];
    };

/** The message type names. */
export type PbftMessageType = PbftMessage["type"];

/** An authenticated message: who sent it, what it says, and the bytes that prove it. */
export interface SignedMessage {
  readonly sender: string;
  readonly message: PbftMessage;
  /** The canonical body bytes the signature covers (after the domain tag). */
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
}

/** Signs and verifies message bodies with validators' keys. */
export interface MessageAuthenticator {
  /** This node's signature over `data`. */
  sign(data: Uint8Array): Uint8Array;
  /** True when `signature` is `sender`'s valid signature over `data`. */
  verify(sender: string, data: Uint8Array, signature: Uint8Array): boolean;
}

/** Thrown when a received message does not decode or does not verify; the sender is to be penalised. */
export class MessageRejected extends GovchainError {
  constructor(reason: string, context: Record<string, unknown> = {}) {
    super("PBFT_MESSAGE_REJECTED", reason, context);
  }
}

const TYPE_CODES: Readonly<Record<PbftMessageType, number>> = {
  "pre-prepare": 1,
  prepare: 2,
  commit: 3,
  checkpoint: 4,
  "view-change": 5,
  "new-view": 6,
};
const TYPE_BY_CODE = new Map(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as PbftMessageType]),
);

/** The bytes a signature covers: domain tag (protocol, chain, type) then the body. */
export function signingBytes(chainId: string, type: PbftMessageType, body: Uint8Array): Uint8Array {
  const tag = new TextEncoder().encode(`govchain/pbft/1/${chainId}/${type}\n`);
  const out = new Uint8Array(tag.length + body.length);
  out.set(tag, 0);
  out.set(body, tag.length);
  return out;
}

type Cbor = unknown;

function envelopeTuple(m: SignedMessage): Cbor {
  return [m.sender, m.body, m.signature];
}

function proposalTuple(p: Proposal): Cbor {
  return [p.blockId, p.parentId, p.payload];
}

/** The canonical body of a message. */
export function encodeBody(message: PbftMessage): Uint8Array {
  const code = TYPE_CODES[message.type];
  switch (message.type) {
    case "pre-prepare":
      return encode([code, message.view, message.seq, proposalTuple(message.proposal)]);
    case "prepare":
    case "commit":
      return encode([code, message.view, message.seq, message.blockId]);
    case "checkpoint":
      return encode([code, message.seq, message.blockId, message.stateRoot]);
    case "view-change":
      return encode([
        code,
        message.view,
        [
          message.stable.seq,
          message.stable.blockId,
          message.stable.stateRoot,
          message.stable.proof.map(envelopeTuple),
        ],
        message.prepared.map((p) => [envelopeTuple(p.prePrepare), p.prepares.map(envelopeTuple)]),
      ]);
    case "new-view":
      return encode([
        code,
        message.view,
        message.viewChanges.map(envelopeTuple),
        message.prePrepares.map(envelopeTuple),
      ]);
  }
}

/** Signs a message as this node. */
export function signMessage(
  message: PbftMessage,
  sender: string,
  chainId: string,
  auth: MessageAuthenticator,
): SignedMessage {
  const body = encodeBody(message);
  return { sender, message, body, signature: auth.sign(signingBytes(chainId, message.type, body)) };
}

/** The wire bytes of a signed message. */
export function encodeEnvelope(message: SignedMessage): Uint8Array {
  return encode(envelopeTuple(message));
}

/**
 * How envelopes become frames and back. The default is canonical CBOR; a later codec may add
 * compression or another framing without touching the machine or the driver.
 */
export interface PbftCodec {
  encode(message: SignedMessage): Uint8Array;
  /** Decodes and authenticates; throws `MessageRejected`. */
  open(frame: Uint8Array, context: OpenContext): SignedMessage;
}

/** The canonical CBOR codec. */
export const cborCodec: PbftCodec = {
  encode: (message) => encodeEnvelope(message),
  open: (frame, context) => openEnvelope(frame, context),
};

/** Context for opening received envelopes. */
export interface OpenContext {
  readonly chainId: string;
  readonly validators: ReadonlySet<string>;
  readonly auth: MessageAuthenticator;
  /** Bound on nested envelopes in one message (defence against amplification); default 10,000. */
  readonly maxNested?: number;
}

/** Decodes and verifies wire bytes, including every nested envelope. Throws `MessageRejected`. */
export function openEnvelope(bytes: Uint8Array, context: OpenContext): SignedMessage {
  let tuple: unknown;
  try {
    tuple = decode(bytes);
  } catch (err) {
    throw new MessageRejected(`undecodable envelope: ${(err as Error).message}`);
  }
  const budget = { remaining: context.maxNested ?? 10_000 };
  return openTuple(tuple, context, budget, 0);
}

function openTuple(
  tuple: unknown,
  context: OpenContext,
  budget: { remaining: number },
  depth: number,
): SignedMessage {
  if (depth > 2) throw new MessageRejected("envelopes nested too deeply");
  if (--budget.remaining < 0) throw new MessageRejected("too many nested envelopes");
  if (!Array.isArray(tuple) || tuple.length !== 3)
    throw new MessageRejected("an envelope is [sender, body, signature]");
  const [sender, body, signature] = tuple as unknown[];
  if (typeof sender !== "string" || !context.validators.has(sender))
    throw new MessageRejected("sender is not a validator", { sender: String(sender) });
  if (!(body instanceof Uint8Array) || !(signature instanceof Uint8Array))
    throw new MessageRejected("body and signature must be bytes");
  const message = decodeBody(body, context, budget, depth);
  if (!context.auth.verify(sender, signingBytes(context.chainId, message.type, body), signature)) {
    throw new MessageRejected(`bad signature on a ${message.type} from ${sender}`, {
      sender,
      type: message.type,
    });
  }
  return { sender, message, body, signature };
}

const isNat = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isHexId = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && v.length <= 256 && /^[0-9a-f]+$/.test(v);

function decodeBody(
  body: Uint8Array,
  context: OpenContext,
  budget: { remaining: number },
  depth: number,
): PbftMessage {
  let raw: unknown;
  try {
    raw = decode(body);
  } catch (err) {
    throw new MessageRejected(`undecodable body: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw) || raw.length < 1) throw new MessageRejected("a body is an array");
  const type = TYPE_BY_CODE.get(raw[0] as number);
  const bad = (what: string): never => {
    throw new MessageRejected(`malformed ${type ?? "message"}: ${what}`);
  };
  switch (type) {
    case "pre-prepare": {
      const [, view, seq, proposal] = raw as unknown[];
      if (!isNat(view) || !isNat(seq)) bad("view and seq must be natural numbers");
      if (!Array.isArray(proposal) || proposal.length !== 3) bad("proposal");
      const [blockId, parentId, payload] = proposal as unknown[];
      if (!isHexId(blockId) || !isHexId(parentId) || !(payload instanceof Uint8Array))
        bad("proposal fields");
      return {
        type,
        view: view as number,
        seq: seq as number,
        proposal: {
          blockId: blockId as string,
          parentId: parentId as string,
          payload: payload as Uint8Array,
        },
      };
    }
    case "prepare":
    case "commit": {
      const [, view, seq, blockId] = raw as unknown[];
      if (!isNat(view) || !isNat(seq) || !isHexId(blockId)) bad("fields");
      return { type, view: view as number, seq: seq as number, blockId: blockId as string };
    }
    case "checkpoint": {
      const [, seq, blockId, stateRoot] = raw as unknown[];
      if (!isNat(seq) || !isHexId(blockId) || !isHexId(stateRoot)) bad("fields");
      return {
        type,
        seq: seq as number,
        blockId: blockId as string,
        stateRoot: stateRoot as string,
      };
    }
    case "view-change": {
      // Top level, or once inside a NEW-VIEW.
      if (depth > 1) bad("a view-change may only be nested in a new-view");
      const [, view, stable, prepared] = raw as unknown[];
      if (!isNat(view) || !Array.isArray(stable) || stable.length !== 4 || !Array.isArray(prepared))
        bad("fields");
      const [sSeq, sBlock, sRoot, sProof] = stable as unknown[];
      if (!isNat(sSeq) || !isHexId(sBlock) || !isHexId(sRoot) || !Array.isArray(sProof))
        bad("stable checkpoint");
      const proof = (sProof as unknown[]).map((t) => openTuple(t, context, budget, depth + 1));
      const proofs = (prepared as unknown[]).map((p): PreparedProof => {
        if (!Array.isArray(p) || p.length !== 2 || !Array.isArray(p[1]))
          bad("prepared certificate");
        const [pp, prepares] = p as [unknown, unknown[]];
        return {
          prePrepare: openTuple(pp, context, budget, depth + 1),
          prepares: prepares.map((t) => openTuple(t, context, budget, depth + 1)),
        };
      });
      return {
        type,
        view: view as number,
        stable: {
          seq: sSeq as number,
          blockId: sBlock as string,
          stateRoot: sRoot as string,
          proof,
        },
        prepared: proofs,
      };
    }
    case "new-view": {
      if (depth > 0) bad("a new-view cannot be nested");
      const [, view, viewChanges, prePrepares] = raw as unknown[];
      if (!isNat(view) || !Array.isArray(viewChanges) || !Array.isArray(prePrepares)) bad("fields");
      return {
        type,
        view: view as number,
        viewChanges: (viewChanges as unknown[]).map((t) =>
          openTuple(t, context, budget, depth + 1),
        ),
        prePrepares: (prePrepares as unknown[]).map((t) =>
          openTuple(t, context, budget, depth + 1),
        ),
      };
    }
    default:
      return bad(`unknown message type ${String(raw[0])}`);
  }
}

/** A commit certificate: the quorum of COMMIT signatures for one block, as stored with it. */
export interface CommitCertificate {
  readonly view: number;
  readonly seq: number;
  readonly blockId: string;
  readonly signatures: readonly { readonly validator: string; readonly signature: Uint8Array }[];
}

/** Encodes a commit certificate (canonical CBOR). */
export function encodeCertificate(certificate: CommitCertificate): Uint8Array {
  return encode([
    certificate.view,
    certificate.seq,
    certificate.blockId,
    certificate.signatures.map((s) => [s.validator, s.signature]),
  ]);
}

/** Decodes a commit certificate; throws `INVALID_CERTIFICATE` when malformed. */
export function decodeCertificate(bytes: Uint8Array): CommitCertificate {
  try {
    const [view, seq, blockId, signatures] = decode(bytes) as [unknown, unknown, unknown, unknown];
    if (!isNat(view) || !isNat(seq) || !isHexId(blockId) || !Array.isArray(signatures))
      throw new Error("fields");
    return {
      view,
      seq,
      blockId,
      signatures: signatures.map((s: unknown) => {
        if (!Array.isArray(s) || typeof s[0] !== "string" || !(s[1] instanceof Uint8Array))
          throw new Error("signature");
        return { validator: s[0], signature: s[1] };
      }),
    };
  } catch (err) {
    throw new GovchainError(
      "INVALID_CERTIFICATE",
      `malformed commit certificate: ${(err as Error).message}`,
    );
  }
}

/**
 * Checks a commit certificate against a validator set: a quorum of distinct validators signed
 * COMMIT(view, seq, blockId). Returns undefined when valid, else the reason.
 */
export function checkCertificate(
  certificate: CommitCertificate,
  expected: { readonly seq: number; readonly blockId: string },
  context: {
    readonly chainId: string;
    readonly validators: readonly string[];
    readonly quorum: number;
    readonly verify: MessageAuthenticator["verify"];
  },
): string | undefined {
  if (certificate.seq !== expected.seq || certificate.blockId !== expected.blockId)
    return "the certificate is for another block";
  const body = encodeBody({
    type: "commit",
    view: certificate.view,
    seq: certificate.seq,
    blockId: certificate.blockId,
  });
  const data = signingBytes(context.chainId, "commit", body);
  const signers = new Set<string>();
  for (const { validator, signature } of certificate.signatures) {
    if (!context.validators.includes(validator) || signers.has(validator)) continue;
    if (!context.verify(validator, data, signature))
      return `the signature of ${validator} does not verify`;
    signers.add(validator);
  }
  return signers.size >= context.quorum
    ? undefined
    : `only ${signers.size} of the ${context.quorum} required validators signed`;
}
