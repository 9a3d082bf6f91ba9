/**
 * Genesis: the document every node of a chain starts from, and block 0 derived from it.
 *
 * The genesis file fixes the chain id, the crypto suite, the consensus engine and its
 * validators, the initial settings (administrators, family policies) and identities. Block 0
 * has no batches: its state is built directly from those sections, its header carries the
 * digest of the whole document in `consensus.data`, and it is signed once by whoever ran
 * `govchain network init`. Every node recomputes block 0 from the file and checks the
 * signature, so all nodes agree on the genesis block id, and anyone holding the file can check
 * that a chain descends from it.
 */
import { z } from "zod";
import { toHex, utf8 } from "../common/bytes.js";
import { canonicalJson } from "../common/canonical-json.js";
import { GovchainError } from "../common/errors.js";
import type { CryptoSuite, Signer } from "../crypto/interface.js";
import { identityGenesisEntries, ROLES } from "../families/identity/identity.js";
import { settingsGenesisEntries } from "../families/settings/settings.js";
import type { StateTree, StateUpdate } from "../state/interface.js";
import {
  encodeBlock,
  encodeBlockHeader,
  encodeConsensusFields,
  NULL_BLOCK_ID,
} from "../wire/index.js";
import type { Block, BlockHeader, ConsensusFields } from "../wire/types.js";

const hexKey = z.string().regex(/^[0-9a-f]{64,66}$/, "a lower-case hex public key");

const validator = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  publicKey: hexKey,
  /** Host:port of the validator's peer endpoint, for multi-node engines. */
  endpoint: z.string().optional(),
});

/** The genesis document without its signature block. */
export const genesisBody = z.strictObject({
  format: z.literal("govchain-genesis/1"),
  chainId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  suite: z.enum(["standard", "gm"]),
  timestampMs: z.number().int().nonnegative(),
  consensus: z.looseObject({ engine: z.enum(["devmode", "pbft"]) }),
  validators: z.array(validator).min(1),
  /** Nodes that replicate blocks and serve the API without voting. */
  observers: z.array(validator).default([]),
  settings: z.record(z.string(), z.string()).default({}),
  identity: z
    .strictObject({
      organisations: z
        .array(
          z.strictObject({
            id: z.string(),
            name: z.string(),
            kind: z.enum(["department", "enterprise", "regulator", "other"]).optional(),
          }),
        )
        .default([]),
      agents: z
        .array(
          z.strictObject({
            publicKey: hexKey,
            name: z.string(),
            organisationId: z.string().optional(),
            roles: z.array(z.enum(ROLES)),
          }),
        )
        .default([]),
    })
    .default({ organisations: [], agents: [] }),
});

/** The genesis document: body plus the signed block-0 header's signer and signature. */
export const genesisConfig = genesisBody.extend({
  block: z.strictObject({
    signerPublicKey: hexKey,
    signature: z.string().regex(/^[0-9a-f]{128}$/),
  }),
});

export type GenesisBody = z.infer<typeof genesisBody>;
export type GenesisConfig = z.infer<typeof genesisConfig>;

/** Block 0 recomputed from a genesis document, ready to commit. */
export interface GenesisBlock {
  readonly id: string;
  readonly header: BlockHeader;
  readonly consensus: ConsensusFields;
  readonly block: Block;
  readonly bytes: Uint8Array;
  readonly update: StateUpdate;
}

/** Parses and validates a genesis document; throws `INVALID_GENESIS` naming the problem. */
export function parseGenesis(json: unknown): GenesisConfig {
  const parsed = genesisConfig.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GovchainError(
      "INVALID_GENESIS",
      `invalid genesis file at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

/** The digest binding block 0 to every field of the genesis body. */
export function genesisDigest(body: GenesisBody, suite: CryptoSuite): Uint8Array {
  const { block: _ignored, ...rest } = body as GenesisBody & { block?: unknown };
  return suite.hash(utf8(canonicalJson(rest)));
}

async function genesisHeader(
  body: GenesisBody,
  signerPublicKey: string,
  suite: CryptoSuite,
  state: StateTree,
): Promise<{
  header: BlockHeader;
  headerBytes: Uint8Array;
  consensus: ConsensusFields;
  update: StateUpdate;
}> {
  let entries: [string, Uint8Array][];
  try {
    entries = [
      ...settingsGenesisEntries(body.settings),
      ...identityGenesisEntries(body.identity, body.timestampMs),
    ];
  } catch (err) {
    throw new GovchainError(
      "INVALID_GENESIS",
      `invalid genesis contents: ${(err as Error).message}`,
    );
  }
  const update = await state.update(state.emptyRoot, entries);
  const consensus: ConsensusFields = {
    engine: "genesis",
    timestampMs: BigInt(body.timestampMs),
    data: genesisDigest(body, suite),
  };
  const header: BlockHeader = {
    blockNum: 0n,
    previousBlockId: NULL_BLOCK_ID,
    signerPublicKey,
    batchIds: [],
    consensus: encodeConsensusFields(consensus),
    stateRootHash: update.root,
  };
  return { header, headerBytes: encodeBlockHeader(header), consensus, update };
}

/** Signs block 0 for a genesis body, giving the complete genesis document. */
export async function signGenesis(
  input: z.input<typeof genesisBody>,
  signer: Signer,
  suite: CryptoSuite,
  state: StateTree,
): Promise<GenesisConfig> {
  // Parse first so defaults are filled in exactly as a node reading the file will see them.
  const body = genesisBody.parse(input);
  const { headerBytes, update } = await genesisHeader(body, signer.publicKeyHex, suite, state);
  state.release(update);
  return {
    ...body,
    block: { signerPublicKey: signer.publicKeyHex, signature: toHex(signer.sign(headerBytes)) },
  };
}

/** Recomputes block 0 from a genesis document and checks its signature. */
export async function genesisBlock(
  config: GenesisConfig,
  suite: CryptoSuite,
  state: StateTree,
): Promise<GenesisBlock> {
  if (config.suite !== suite.id) {
    throw new GovchainError(
      "INVALID_GENESIS",
      `genesis is for the ${config.suite} suite, not ${suite.id}`,
    );
  }
  const { header, headerBytes, consensus, update } = await genesisHeader(
    config,
    config.block.signerPublicKey,
    suite,
    state,
  );
  const signature = Buffer.from(config.block.signature, "hex");
  if (!suite.verify(Buffer.from(config.block.signerPublicKey, "hex"), headerBytes, signature)) {
    state.release(update);
    throw new GovchainError(
      "INVALID_GENESIS",
      "the genesis block signature does not match the genesis document",
    );
  }
  const block: Block = {
    header: headerBytes,
    headerSignature: config.block.signature,
    batches: [],
  };
  return {
    id: config.block.signature,
    header,
    consensus,
    block,
    bytes: encodeBlock(block),
    update,
  };
}
