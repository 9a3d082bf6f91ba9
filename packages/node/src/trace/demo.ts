/**
 * The traceability demo scenario for `govchain up --demo`: a farm harvests a lot of wheat and
 * records a dozen storage readings on it (a lot with more than ten history versions), sells it
 * to a mill, which grinds it into a lot of flour, sells that to a distributor, which splits it
 * in two and ships one part to each of two retailers, who sell some of it.
 *
 * `buildTraceDemo` only builds and signs the batches; the caller submits them stage by stage,
 * waiting for each stage to commit before submitting the next: admission checks every signer
 * against the chain head, so the organisations' administrators registered by stage 1 must be
 * on the chain before their own batches (stage 2) are offered. Within a stage the batches may
 * go as one BatchList: each batch's first transaction depends on the previous batch's last
 * one, so their order holds across blocks and nodes.
 */
import { type Random, systemRandom } from "../common/random.js";
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
  tracePrefixAddress,
} from "../families/trace/index.js";
import { buildDigitalLink, type Gtin14, parseGtin, withCheckDigit } from "../gs1/index.js";
import { createBatch, createTransaction } from "../wire/index.js";
import type { Batch, Transaction } from "../wire/types.js";

/** The keys the demo signs with. */
export interface TraceDemoSigners {
  /** An agent with the identity role `system_admin` (creates the organisations, assigns prefixes). */
  readonly systemAdmin: Signer;
  /** Become the administrators of the five demo organisations. */
  readonly farm: Signer;
  readonly mill: Signer;
  readonly distributor: Signer;
  readonly retailerEast: Signer;
  readonly retailerWest: Signer;
}

/** Options of `buildTraceDemo`. */
export interface TraceDemoOptions {
  /** The chain's crypto suite (payload digests, key checks). */
  readonly suite: CryptoSuite;
  /**
   * Create the organisations and register the five signers as their administrators (identity
   * family) in the first batch; default true. Pass false when they already exist.
   */
  readonly registerIdentities?: boolean;
  /** Prefix of the organisation ids; default `demo-`. */
  readonly organisationIdPrefix?: string;
  /** Digital Link resolver host for the links in the summary; default `id.govchain.example`. */
  readonly resolver?: string;
  /** Nonce source; default the system's. */
  readonly random?: Random;
}

/** One organisation of the demo. */
export interface TraceDemoOrganisation {
  readonly id: string;
  readonly name: string;
  readonly companyPrefix: string;
  readonly gln: string;
  readonly publicKey: string;
}

/** A lot of the demo. */
export interface TraceDemoLot {
  readonly gtin: Gtin14;
  readonly lot: string;
  /** GS1 Digital Link URI (what its QR code holds). */
  readonly digitalLink: string;
}

/** What `buildTraceDemo` returns. */
export interface TraceDemo {
  /**
   * Signed batches in two stages: stage 1 (the system administrator: organisations, their
   * administrators, company prefixes, S4.5 user records), stage 2 (the supply chain itself).
   * Submit a stage and wait for its commit before the next.
   */
  readonly stages: readonly (readonly Batch[])[];
  /** Every batch of every stage, in order. */
  readonly batches: readonly Batch[];
  readonly organisations: Readonly<
    Record<"farm" | "mill" | "distributor" | "retailerEast" | "retailerWest", TraceDemoOrganisation>
  >;
  readonly products: { readonly wheat: Gtin14; readonly flour: Gtin14 };
  readonly lots: {
    /** The farm's lot, with 12 storage-reading updates in its history. */
    readonly wheat: TraceDemoLot;
    readonly flour: TraceDemoLot;
    readonly flourEast: TraceDemoLot;
    readonly flourWest: TraceDemoLot;
  };
  /**
   * An address the demo writes in its first batch (the farm's company prefix): when it is
   * already set, the demo was loaded before and must not be submitted again.
   */
  readonly markerAddress: string;
}

type Step = { readonly signer: Signer; readonly txs: TxSpec[] };
type TxSpec =
  | { readonly family: "identity"; readonly payload: IdentityPayload }
  | { readonly family: "trace"; readonly payload: TracePayload };

/** GS1's own example range (952) keeps demo codes from colliding with real ones. */
function demoCodes(index: number): { prefix: string; gln: string } {
  const prefix = `952000${index}`;
  return { prefix, gln: withCheckDigit(`${prefix}00001`) };
}

/** Builds and signs the demo's batches. */
export function buildTraceDemo(signers: TraceDemoSigners, options: TraceDemoOptions): TraceDemo {
  const p = options.organisationIdPrefix ?? "demo-";
  const resolver = options.resolver;
  const org = (
    key: keyof TraceDemo["organisations"],
    index: number,
    suffix: string,
    name: string,
  ): TraceDemoOrganisation => ({
    id: `${p}${suffix}`,
    name,
    companyPrefix: demoCodes(index).prefix,
    gln: demoCodes(index).gln,
    publicKey: signers[key].publicKeyHex,
  });
  const organisations = {
    farm: org("farm", 1, "farm", "Green Valley Farm"),
    mill: org("mill", 2, "mill", "Riverside Mill"),
    distributor: org("distributor", 3, "distributor", "North Food Distribution"),
    retailerEast: org("retailerEast", 4, "retail-east", "East Street Grocer"),
    retailerWest: org("retailerWest", 5, "retail-west", "West Market Store"),
  } as const;
  const wheat = parseGtin(withCheckDigit(`${organisations.farm.companyPrefix}00010`));
  const flour = parseGtin(withCheckDigit(`${organisations.mill.companyPrefix}00020`));
  const lotOf = (gtin: Gtin14, lot: string): TraceDemoLot => ({
    gtin,
    lot,
    digitalLink: buildDigitalLink({ gtin, lot }, resolver),
  });
  const lots = {
    wheat: lotOf(wheat, "WHEAT-2024-07"),
    flour: lotOf(flour, "FLOUR-24-001"),
    flourEast: lotOf(flour, "FLOUR-24-001-E"),
    flourWest: lotOf(flour, "FLOUR-24-001-W"),
  };
  const entries = Object.entries(organisations) as [
    keyof typeof organisations,
    TraceDemoOrganisation,
  ][];
  const trace = (payload: TracePayload): TxSpec => ({ family: "trace", payload });
  const identity = (payload: IdentityPayload): TxSpec => ({ family: "identity", payload });

  const steps: Step[] = [];
  steps.push({
    signer: signers.systemAdmin,
    txs: [
      ...(options.registerIdentities === false
        ? []
        : entries.flatMap(([, o]) => [
            identity({ action: "create_organisation", id: o.id, name: o.name, kind: "enterprise" }),
            identity({
              action: "register_agent",
              publicKey: o.publicKey,
              name: `${o.name} administrator`,
              organisationId: o.id,
              roles: ["org_admin"],
            }),
          ])),
      ...entries.map(([, o]) =>
        trace({ action: "register_prefix", prefix: o.companyPrefix, organisationId: o.id }),
      ),
      ...entries.map(([, o]) => trace({ action: "sync_user", publicKey: o.publicKey })),
    ],
  });
  const kinds = {
    farm: "farm",
    mill: "processing",
    distributor: "distribution",
    retailerEast: "retail",
    retailerWest: "retail",
  } as const;
  for (const [key, o] of entries) {
    steps.push({
      signer: signers[key],
      txs: [
        trace({
          action: "register_location",
          gln: o.gln,
          name: `${o.name} (${kinds[key]})`,
          kind: kinds[key],
        }),
      ],
    });
  }
  const readings = Array.from({ length: 12 }, (_, i) =>
    trace({
      action: "update_lot",
      gtin: wheat,
      lot: lots.wheat.lot,
      // Storage readings as the silo's sensor reports them, one update each.
      attributes: { moisturePct: 14.5 - i * 0.1, siloTempC: 12 + (i % 4), readingNo: i + 1 },
    }),
  );
  steps.push({
    signer: signers.farm,
    txs: [
      trace({
        action: "create_product",
        gtin: wheat,
        name: "Winter wheat grain",
        productType: "grain",
        attributes: { variety: "Jimai 22" },
      }),
      trace({
        action: "create_lot",
        gtin: wheat,
        lot: lots.wheat.lot,
        quantity: 1200,
        unit: "kg",
        location: organisations.farm.gln,
        attributes: { harvestDate: "2024-07-15", field: "North-3" },
        certificates: [{ scheme: "organic", id: "ORG-2024-0315", issuer: "Provincial Certifier" }],
      }),
      ...readings,
      trace({
        action: "offer",
        gtin: wheat,
        lot: lots.wheat.lot,
        to: organisations.mill.id,
        toLocation: organisations.mill.gln,
        kind: "both",
      }),
    ],
  });
  steps.push({
    signer: signers.mill,
    txs: [
      trace({
        action: "create_product",
        gtin: flour,
        name: "Wheat flour, type 550",
        productType: "flour",
      }),
      trace({
        action: "accept_offer",
        gtin: wheat,
        lot: lots.wheat.lot,
        to: organisations.mill.id,
        receive: true,
      }),
      trace({
        action: "transform",
        inputs: [{ gtin: wheat, lot: lots.wheat.lot, quantity: 1200 }],
        outputs: [
          {
            gtin: flour,
            lot: lots.flour.lot,
            quantity: 900,
            unit: "kg",
            attributes: { millingDate: "2024-08-02", extractionPct: 75 },
          },
        ],
        location: organisations.mill.gln,
      }),
      trace({
        action: "offer",
        gtin: flour,
        lot: lots.flour.lot,
        to: organisations.distributor.id,
        toLocation: organisations.distributor.gln,
        kind: "both",
      }),
    ],
  });
  steps.push({
    signer: signers.distributor,
    txs: [
      trace({
        action: "accept_offer",
        gtin: flour,
        lot: lots.flour.lot,
        to: organisations.distributor.id,
        receive: true,
      }),
      trace({
        action: "split",
        gtin: flour,
        lot: lots.flour.lot,
        parts: [
          { lot: lots.flourEast.lot, quantity: 500 },
          { lot: lots.flourWest.lot, quantity: 400 },
        ],
      }),
      trace({
        action: "offer",
        gtin: flour,
        lot: lots.flourEast.lot,
        to: organisations.retailerEast.id,
        toLocation: organisations.retailerEast.gln,
        kind: "both",
      }),
      trace({
        action: "offer",
        gtin: flour,
        lot: lots.flourWest.lot,
        to: organisations.retailerWest.id,
        toLocation: organisations.retailerWest.gln,
        kind: "both",
      }),
    ],
  });
  for (const [key, lot, sold] of [
    ["retailerEast", lots.flourEast, 120],
    ["retailerWest", lots.flourWest, 80],
  ] as const) {
    steps.push({
      signer: signers[key],
      txs: [
        trace({
          action: "accept_offer",
          gtin: lot.gtin,
          lot: lot.lot,
          to: organisations[key].id,
          receive: true,
        }),
        trace({ action: "sell", gtin: lot.gtin, lot: lot.lot, quantity: sold }),
      ],
    });
  }

  const random = options.random ?? systemRandom;
  const batches: Batch[] = [];
  let previous: string | undefined;
  for (const step of steps) {
    const txs: Transaction[] = [];
    for (const [i, spec] of step.txs.entries()) {
      const addresses =
        spec.family === "identity" ? identityAddresses(spec.payload) : traceAddresses(spec.payload);
      const tx = createTransaction(
        step.signer,
        {
          familyName: spec.family === "identity" ? IDENTITY_FAMILY : TRACE_FAMILY,
          familyVersion: spec.family === "identity" ? IDENTITY_VERSION : TRACE_VERSION,
          inputs: addresses,
          outputs: addresses,
          payload:
            spec.family === "identity"
              ? encodeIdentityPayload(spec.payload)
              : encodeTracePayload(spec.payload),
          ...(i === 0 && previous !== undefined ? { dependencies: [previous] } : {}),
          random,
        },
        options.suite,
      );
      txs.push(tx);
    }
    const last = txs[txs.length - 1];
    if (last) previous = last.headerSignature;
    batches.push(createBatch(step.signer, txs));
  }
  return {
    stages: [batches.slice(0, 1), batches.slice(1)],
    batches,
    organisations,
    products: { wheat, flour },
    lots,
    markerAddress: tracePrefixAddress(organisations.farm.companyPrefix),
  };
}
