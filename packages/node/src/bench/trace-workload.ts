/**
 * A pre-signed traceability workload (seed 004's operations on the `APSChain` family): the
 * timed part creates lots of one product, each transaction a new lot with its attributes and
 * certificate — what a farm or a slaughterhouse records most often. It runs with the same
 * permission checks as production: the signers are registered organisation administrators, the
 * product and location lie under the organisation's own GS1 company prefix.
 *
 * The set-up stages (organisation, agents, prefix; then location and product) must each be
 * committed before the next, because admission checks signers against the chain head.
 */
import type { CryptoSuite, Signer } from "../crypto/interface.js";
import {
  encodeIdentityPayload,
  IDENTITY_FAMILY,
  IDENTITY_VERSION,
  type IdentityPayload,
  identityAddresses,
} from "../families/identity/identity.js";
import {
  encodeTracePayload,
  TRACE_FAMILY,
  TRACE_VERSION,
  type TracePayload,
  traceAddresses,
} from "../families/trace/index.js";
import { withCheckDigit } from "../gs1/index.js";
import { createBatch, createTransaction, encodeBatchList } from "../wire/index.js";
import type { Batch, Transaction } from "../wire/types.js";
import type { PreparedList } from "./workload.js";

/** Options of `createTraceWorkload`. */
export interface TraceWorkloadOptions {
  readonly suite: CryptoSuite;
  /** A `system_admin` agent of the chain (genesis's administrator on a local network). */
  readonly systemAdmin: Signer;
  /** Timed transactions (lots created). */
  readonly transactions: number;
  /** Organisation administrators signing the lots (batches rotate over them); default 8. */
  readonly signers?: number;
  /** Transactions per batch; default 1. */
  readonly batchSize?: number;
  /** Batches per `POST /batches`; default 10. */
  readonly listSize?: number;
  /** Distinguishes runs on one chain (organisation id, company prefix); default random. */
  readonly runId?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The set-up stages (each committed before the next) and the timed lists. */
export interface TraceWorkload {
  readonly setup: readonly PreparedList[];
  readonly lists: PreparedList[];
}

type Spec =
  | { readonly family: "identity"; readonly payload: IdentityPayload }
  | { readonly family: "trace"; readonly payload: TracePayload };

function transaction(signer: Signer, spec: Spec, suite: CryptoSuite): Transaction {
  const identity = spec.family === "identity";
  const addresses = identity
    ? identityAddresses(spec.payload as IdentityPayload)
    : traceAddresses(spec.payload as TracePayload);
  return createTransaction(
    signer,
    {
      familyName: identity ? IDENTITY_FAMILY : TRACE_FAMILY,
      familyVersion: identity ? IDENTITY_VERSION : TRACE_VERSION,
      inputs: addresses,
      outputs: addresses,
      payload: identity
        ? encodeIdentityPayload(spec.payload as IdentityPayload)
        : encodeTracePayload(spec.payload as TracePayload),
    },
    suite,
  );
}

function listOf(batches: readonly Batch[]): PreparedList {
  return {
    bytes: encodeBatchList(batches),
    batchIds: batches.map((b) => b.headerSignature),
    transactions: batches.reduce((n, b) => n + b.transactions.length, 0),
  };
}

/** Builds and signs the set-up and the timed lots. */
export function createTraceWorkload(options: TraceWorkloadOptions): TraceWorkload {
  const { suite, systemAdmin } = options;
  const batchSize = options.batchSize ?? 1;
  const listSize = options.listSize ?? 10;
  const runId = options.runId ?? Math.floor(Math.random() * 10_000);
  const run = String(runId).padStart(4, "0");
  // GS1's example range 952, 8 digits: never nested with the demo's 7-digit 952000n prefixes.
  const prefix = `9529${run}`;
  const gln = withCheckDigit(`${prefix}0001`);
  const gtin = withCheckDigit(`${prefix}0010`);
  const organisationId = `bench-${run}`;
  const admins = Array.from({ length: options.signers ?? 8 }, () =>
    suite.createSigner(suite.generateKey()),
  );

  const first = admins[0] as Signer;
  const setup = [
    listOf([
      createBatch(systemAdmin, [
        transaction(
          systemAdmin,
          {
            family: "identity",
            payload: {
              action: "create_organisation",
              id: organisationId,
              name: `Benchmark farm ${run}`,
              kind: "enterprise",
            },
          },
          suite,
        ),
        ...admins.map((admin, i) =>
          transaction(
            systemAdmin,
            {
              family: "identity",
              payload: {
                action: "register_agent",
                publicKey: admin.publicKeyHex,
                name: `Benchmark administrator ${i}`,
                organisationId,
                roles: ["org_admin"],
              },
            },
            suite,
          ),
        ),
        transaction(
          systemAdmin,
          { family: "trace", payload: { action: "register_prefix", prefix, organisationId } },
          suite,
        ),
      ]),
    ]),
    listOf([
      createBatch(first, [
        transaction(
          first,
          {
            family: "trace",
            payload: { action: "register_location", gln, name: "Benchmark farm", kind: "farm" },
          },
          suite,
        ),
        transaction(
          first,
          {
            family: "trace",
            payload: {
              action: "create_product",
              gtin,
              name: "Benchmark grain",
              productType: "grain",
            },
          },
          suite,
        ),
      ]),
    ]),
  ];

  const lists: PreparedList[] = [];
  const totalLists = Math.ceil(options.transactions / (batchSize * listSize));
  let made = 0;
  for (let l = 0; l < totalLists && made < options.transactions; l++) {
    const batches: Batch[] = [];
    for (let b = 0; b < listSize && made < options.transactions; b++) {
      const signer = admins[(l * listSize + b) % admins.length] as Signer;
      const txs: Transaction[] = [];
      for (let t = 0; t < batchSize && made < options.transactions; t++, made++) {
        txs.push(
          transaction(
            signer,
            {
              family: "trace",
              payload: {
                action: "create_lot",
                gtin,
                lot: `L${made.toString(36)}`,
                quantity: 1000 + (made % 500),
                unit: "kg",
                location: gln,
                attributes: { harvestDate: "2026-07-15", field: `F${made % 40}` },
                certificates: [{ scheme: "organic", id: `ORG-${made}`, issuer: "Certifier" }],
              },
            },
            suite,
          ),
        );
      }
      batches.push(createBatch(signer, txs));
    }
    lists.push(listOf(batches));
    options.onProgress?.(l + 1, totalLists);
  }
  return { setup, lists };
}
