/**
 * `govchain proof get|verify`: state proofs anyone can check offline with only the genesis
 * file. A proof document carries the block header bytes, their signature and the Merkle path;
 * `verify` trusts nothing in it until it has checked, in order:
 *
 * 1. the header signature, by the key the document names;
 * 2. that this key may sign blocks of this chain — a validator listed in the genesis file, or,
 *    for block 0, the genesis signer with exactly the genesis block's id;
 * 3. that the signed header is the block the document describes (height, state root);
 * 4. the Merkle path from that state root to the address (`verifyStateProof`).
 *
 * For a PBFT chain the document also carries the block's commit certificate, and `verify`
 * requires it: a quorum of the genesis validators must have signed COMMIT for this block, so no
 * single validator (not even the one that signed the header) can vouch for a state alone. In
 * devmode the one validator's signature is the whole commitment. A chain whose validator set
 * was changed by a vote needs the epoch history as well; genesis alone cannot vouch for blocks
 * ordered by a later set, and `verify` says so.
 */
import type { Command } from "commander";
import { z } from "zod";
import { fromHex } from "../common/bytes.js";
import { isGovchainError } from "../common/errors.js";
import { quorumSize } from "../consensus/pbft/config.js";
import {
  type CommitCertificate,
  checkCertificate,
  decodeCertificate,
} from "../consensus/pbft/messages.js";
import { getSuite } from "../crypto/index.js";
import type { GenesisConfig } from "../genesis/genesis.js";
import { verifyStateProof } from "../state/index.js";
import type { StateProof } from "../state/interface.js";
import { decodeBlockHeader } from "../wire/index.js";
import type { BlockHeader } from "../wire/types.js";
import { type CliContext, DEFAULT_HOME, DEFAULT_NETWORK, withApi } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { readGenesisFile, readJson, writeNewFile } from "./files.js";
import { toJson } from "./output.js";
import { checkAddress } from "./state.js";
import { summariseValue, type ValueView, viewValue } from "./values.js";

const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, "lower-case hex");

const proofDocument = z.looseObject({
  address: z.string().regex(/^[0-9a-f]{70}$/, "70 lower-case hex characters"),
  block: z.looseObject({
    id: hex,
    height: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]),
    header: hex,
    headerSignature: hex,
    signerPublicKey: hex,
    stateRoot: hex,
    certificate: hex.optional(),
  }),
  proof: z.unknown(),
});

/** What a successful verification established. */
export interface VerifiedProof {
  readonly address: string;
  readonly blockId: string;
  readonly height: bigint;
  readonly stateRoot: string;
  readonly signerPublicKey: string;
  /** `genesis` for block 0, else the validator's id in the genesis file. */
  readonly signedBy: string;
  /** Validators whose COMMIT signatures certify the block (PBFT chains). */
  readonly certifiedBy?: readonly string[];
  readonly included: boolean;
  readonly value?: Uint8Array;
}

function invalid(reason: string, context: Record<string, unknown> = {}, cause?: unknown): never {
  throw cliError(CliErrorCode.PROOF_INVALID, reason, context, cause);
}

/**
 * Verifies a proof document (as parsed JSON) against a genesis document. Returns what it
 * proves; throws `PROOF_INVALID` with the reason when it proves nothing.
 */
export function verifyProofDocument(document: unknown, genesis: GenesisConfig): VerifiedProof {
  const parsed = proofDocument.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    invalid(
      `not a govchain proof document: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "schema mismatch"}`,
    );
  }
  const { address, block, proof } = parsed.data;
  const suite = getSuite(genesis.suite);
  const headerBytes = fromHex(block.header);

  if (block.id !== block.headerSignature) invalid("the block id is not the header signature");
  const signer = fromHex(block.signerPublicKey);
  if (!suite.verify(signer, headerBytes, fromHex(block.headerSignature))) {
    invalid(
      `the block header signature does not verify with ${block.signerPublicKey} (${genesis.suite} suite)`,
    );
  }

  let header: BlockHeader;
  try {
    header = decodeBlockHeader(headerBytes);
  } catch (err) {
    invalid("the signed block header does not decode", {}, err);
  }
  const height = BigInt(block.height);
  if (header.signerPublicKey !== block.signerPublicKey)
    invalid("the header names another signer than the document");
  if (header.blockNum !== height)
    invalid(`the signed header is block ${header.blockNum}, not ${height}`);
  if (header.stateRootHash !== block.stateRoot)
    invalid("the signed header has another state root than the document");

  let signedBy: string;
  if (height === 0n) {
    if (
      block.signerPublicKey !== genesis.block.signerPublicKey ||
      block.id !== genesis.block.signature
    ) {
      invalid("block 0 is not this chain's genesis block");
    }
    signedBy = "genesis";
  } else {
    const validator = genesis.validators.find((v) => v.publicKey === block.signerPublicKey);
    if (validator === undefined) {
      invalid(
        `the block is signed by ${block.signerPublicKey}, which is not a validator in the genesis file`,
      );
    }
    signedBy = validator.id;
  }

  let certifiedBy: string[] | undefined;
  if (height > 0n && genesis.consensus.engine === "pbft") {
    if (block.certificate === undefined)
      invalid("a PBFT block needs its commit certificate; the document has none");
    let certificate: CommitCertificate;
    try {
      certificate = decodeCertificate(fromHex(block.certificate));
    } catch (err) {
      invalid("the commit certificate does not decode", {}, err);
    }
    const keys = new Map(genesis.validators.map((v) => [v.id, v.publicKey]));
    const strangers = certificate.signatures
      .filter((s) => !keys.has(s.validator))
      .map((s) => s.validator);
    if (strangers.length > 0) {
      invalid(
        `the certificate is signed by ${strangers.join(", ")}, not validators in the genesis file: the validator set changed by a vote after genesis, and genesis alone cannot vouch for this block`,
      );
    }
    const problem = checkCertificate(
      certificate,
      { seq: Number(height), blockId: block.id },
      {
        chainId: genesis.chainId,
        validators: [...keys.keys()],
        quorum: quorumSize(keys.size),
        verify: (sender, data, signature) => {
          const key = keys.get(sender);
          return key !== undefined && suite.verify(fromHex(key), data, signature);
        },
      },
    );
    if (problem) invalid(`the commit certificate does not hold: ${problem}`);
    certifiedBy = certificate.signatures.map((s) => s.validator);
  }

  let outcome: ReturnType<typeof verifyStateProof>;
  try {
    outcome = verifyStateProof(proof as StateProof, {
      root: header.stateRootHash,
      address,
      hash: suite.hashName,
    });
  } catch (err) {
    if (isGovchainError(err)) invalid(err.message, { cause: err.code }, err);
    throw err;
  }
  return {
    address,
    blockId: block.id,
    height,
    stateRoot: header.stateRootHash,
    signerPublicKey: block.signerPublicKey,
    signedBy,
    ...(certifiedBy ? { certifiedBy } : {}),
    included: outcome.included,
    ...(outcome.included ? { value: outcome.value } : {}),
  };
}

/** Registers `govchain proof …`. */
export function registerProof(program: Command, ctx: CliContext): void {
  const proof = program
    .command("proof")
    .summary("Merkle proofs of state that anyone can verify offline with the genesis file");

  withApi(
    proof
      .command("get")
      .summary("fetch a proof of an address's value (or absence)")
      .argument("<address>", "70-hex-character state address")
      .option("--head <blockId>", "prove at this block instead of the head")
      .option("--out <file>", "write the proof document to a file instead of stdout"),
  ).action(async (address: string, opts: { head?: string; out?: string }, command: Command) => {
    checkAddress(address);
    const document = await ctx.client(command).getProof(address, opts.head);
    const text = `${toJson(document)}\n`;
    if (opts.out === undefined) {
      // The document is the result, in both modes, so `> file` works as well as --out.
      ctx.io.stdout.write(text);
      return;
    }
    await writeNewFile(ctx.path(opts.out), text, true);
    const proofValue = (document.proof as { value?: unknown } | null)?.value;
    ctx.output.result(
      `wrote proof of ${address} (${proofValue === undefined ? "absent" : "present"}) at block ${document.block.height} ${document.block.id.slice(0, 16)}… to ${opts.out}`,
      {
        out: ctx.path(opts.out),
        address,
        height: String(document.block.height),
        blockId: document.block.id,
        included: proofValue !== undefined,
      },
    );
  });

  proof
    .command("verify")
    .summary("verify a proof file offline against a genesis file")
    .description(
      "Checks the block header's signature (a genesis validator, or the genesis signer for block 0), " +
        "that the header carries the proof's state root, and the Merkle path to the address. Prints " +
        "the value or `absent` and exits 0; prints the reason and exits 1 when the proof does not hold.",
    )
    .argument("<file>", "proof document written by `proof get`")
    .option(
      "--genesis <file>",
      `the chain's genesis.json [default: ${DEFAULT_HOME}/${DEFAULT_NETWORK}/genesis.json]`,
    )
    .action(async (file: string, opts: { genesis?: string }) => {
      const genesisPath = ctx.path(
        opts.genesis ?? `${DEFAULT_HOME}/${DEFAULT_NETWORK}/genesis.json`,
      );
      const genesis = await readGenesisFile(genesisPath);
      const verified = verifyProofDocument(await readJson(ctx.path(file), "proof file"), genesis);
      const view: ValueView | undefined =
        verified.value !== undefined ? viewValue(verified.address, verified.value) : undefined;
      ctx.output.result(
        [
          view === undefined
            ? `valid: ${verified.address} is absent`
            : `valid: ${verified.address} = ${summariseValue(view, 200)}`,
          `  block       ${verified.height} ${verified.blockId}`,
          `  signed by   ${verified.signedBy === "genesis" ? "the genesis signer" : `validator ${verified.signedBy}`} ${verified.signerPublicKey}`,
          ...(verified.certifiedBy
            ? [
                `  certified   by ${verified.certifiedBy.length} validators (${verified.certifiedBy.join(", ")}), a quorum of the genesis set`,
              ]
            : []),
          `  state root  ${verified.stateRoot}`,
          `  chain       ${genesis.chainId} (${genesis.suite})`,
        ],
        {
          valid: true,
          address: verified.address,
          included: verified.included,
          ...(view !== undefined ? { value: view } : {}),
          block: {
            id: verified.blockId,
            height: verified.height.toString(),
            stateRoot: verified.stateRoot,
          },
          signer: { publicKey: verified.signerPublicKey, id: verified.signedBy },
          ...(verified.certifiedBy ? { certifiedBy: verified.certifiedBy } : {}),
          chainId: genesis.chainId,
        },
      );
    });
}
