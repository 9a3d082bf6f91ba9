/**
 * The records the `APSChain` family stores, as zod schemas over canonical CBOR. Products and
 * lots are versioned: page 0000 holds the current version and each update first copies it into
 * the next history page, so every version carries the `step` that produced it (action,
 * organisation, signer, block time, transaction id, block height) — which is exactly what a
 * trace shows for each stage.
 *
 * The seven coded fields of S4.2 keep the seed's names on lot records: `owner` (the owning
 * company's GS1 company prefix), `product_id` (the GTIN), `pre_product_id` / `dir_product_id`
 * (the lots it came from / went into), `location`, `pre_location`, `dir_location` (GLNs: where
 * it is, where it was, where it is going).
 */
import { z } from "zod";
import { decodeRecord, encodeCbor } from "../payload.js";
import { TRACE_ROLE_CODES } from "./addresses.js";

/** Largest quantity: integers only, so that splits and merges conserve exactly. */
export const MAX_QUANTITY = Number.MAX_SAFE_INTEGER;
/** Most links (`pre_product_id`/`dir_product_id`) on one lot, parts of one split, inputs of one merge. */
export const MAX_LINKS = 256;
/** Most attributes on a product or lot. */
export const MAX_ATTRIBUTES = 64;
/** Most certificates on a lot. */
export const MAX_CERTIFICATES = 32;

/** Organisation ids as the identity family writes them. */
export const organisationIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    "organisation ids are 1-64 characters of a-z, 0-9, '.', '_', '-'",
  );

/** A block time in milliseconds or a block height: a non-negative safe integer. */
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A quantity in the lot's unit. */
export const quantitySchema = z.number().int().min(0).max(MAX_QUANTITY);

/** Units: short names such as `kg`, `g`, `t`, `l`, `each`, `head`, `box`. */
export const unitSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.%/-]{0,15}$/, "units are 1-16 characters such as kg, l, each");

/** A calendar date `YYYY-MM-DD`. */
export const dateSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "dates are YYYY-MM-DD");

/** Attribute names: camelCase-like identifiers; a name ending in `Date` must hold a date. */
export const attributeNameSchema = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
    "attribute names are 1-64 characters starting with a letter",
  );

/** An attribute value. */
export const attributeValueSchema = z.union([
  z.string().max(1000),
  z.number().finite(),
  z.boolean(),
]);

/** Extensible attributes of a product or lot (type, harvest/slaughter date, grade, …). */
export const attributesSchema = z
  .record(attributeNameSchema, attributeValueSchema)
  .superRefine((attrs, ctx) => {
    const names = Object.keys(attrs);
    if (names.length > MAX_ATTRIBUTES)
      ctx.addIssue({ code: "custom", message: `at most ${MAX_ATTRIBUTES} attributes` });
    for (const name of names) {
      const value = attrs[name];
      if (
        name.endsWith("Date") &&
        !(typeof value === "string" && dateSchema.safeParse(value).success)
      )
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `${name} must be a date YYYY-MM-DD`,
        });
    }
  });
/** Attributes as stored. */
export type Attributes = z.infer<typeof attributesSchema>;

/** A certificate a lot carries (organic, veterinary, phytosanitary, halal, …). */
export const certificateSchema = z.strictObject({
  scheme: z.string().min(1).max(100),
  id: z.string().min(1).max(200),
  issuer: z.string().min(1).max(200).optional(),
  validUntil: dateSchema.optional(),
});
/** A certificate as stored. */
export type Certificate = z.infer<typeof certificateSchema>;

/** A reference to a lot with the quantity that flowed along the link. */
export const lotLinkSchema = z.strictObject({
  gtin: z.string().regex(/^\d{14}$/),
  lot: z.string().min(1).max(20),
  quantity: quantitySchema,
});
/** A link between lots. */
export type LotLink = z.infer<typeof lotLinkSchema>;

/** Every operation of the family (the `action` of a payload and of a version's step). */
export const TRACE_ACTIONS = [
  "sync_user",
  "register_prefix",
  "register_location",
  "create_product",
  "update_product",
  "create_lot",
  "update_lot",
  "offer",
  "accept_offer",
  "reject_offer",
  "cancel_offer",
  "receive",
  "split",
  "merge",
  "transform",
  "sell",
] as const;
/** An operation name. */
export type TraceAction = (typeof TRACE_ACTIONS)[number];

/** What produced a version of a product or lot record. */
export const stepSchema = z.strictObject({
  action: z.enum(TRACE_ACTIONS),
  /** The organisation the signer acted for. */
  organisationId: organisationIdSchema,
  /** The signer's public key. */
  by: z.string().max(140),
  /** Block time, ms since the Unix epoch. */
  at: counter,
  /** The transaction id that recorded the step. */
  txId: z.string().regex(/^[0-9a-f]{128}$/),
  /** The block height that recorded it. */
  height: counter,
  /** Quantity moved, split off, consumed or sold by the step. */
  amount: quantitySchema.optional(),
  /** The organisation on the other side (offer, accept, reject). */
  counterpart: organisationIdSchema.optional(),
  /** Free text (a rejection's reason). */
  note: z.string().max(500).optional(),
});
/** A step as stored. */
export type Step = z.infer<typeof stepSchema>;

/** Kinds of transfer an offer proposes. */
export const OFFER_KINDS = ["ownership", "custody", "both"] as const;
/** A kind of transfer. */
export type OfferKind = (typeof OFFER_KINDS)[number];

/** A pending offer, on the lot (it locks the lot) and in the receiver's inbox. */
export const offerSchema = z.strictObject({
  gtin: z.string().regex(/^\d{14}$/),
  lot: z.string().min(1).max(20),
  /** Receiving organisation. */
  to: organisationIdSchema,
  /** Receiving GLN (becomes `dir_location`). */
  toLocation: z.string().regex(/^\d{13}$/),
  /** Company prefix of that GLN: the lot's `owner` once ownership moves. */
  toCompanyPrefix: z.string().regex(/^\d{4,12}$/),
  kind: z.enum(OFFER_KINDS),
  /** Offering organisation. */
  from: organisationIdSchema,
  by: z.string().max(140),
  at: counter,
  txId: z.string().regex(/^[0-9a-f]{128}$/),
  height: counter,
});
/** An offer as stored. */
export type Offer = z.infer<typeof offerSchema>;

/** Lifecycle of a lot: only `active` lots move, split, merge, transform or sell. */
export const LOT_STATUSES = ["active", "split", "merged", "consumed", "sold"] as const;
/** A lot status. */
export type LotStatus = (typeof LOT_STATUSES)[number];

const glnOrNull = z
  .string()
  .regex(/^\d{13}$/)
  .nullable();

/** A lot (GTIN + lot number, the traced unit): one version. */
export const lotRecordSchema = z.strictObject({
  gtin: z.string().regex(/^\d{14}$/),
  lot: z.string().min(1).max(20),
  productType: z.string().max(64),
  status: z.enum(LOT_STATUSES),
  /** Quantity held now, in `unit`. */
  quantity: quantitySchema,
  unit: unitSchema,
  /** Quantity the lot was created with. */
  initialQuantity: quantitySchema,
  /** Quantity sold at retail so far. */
  soldQuantity: quantitySchema,
  /** Organisation holding title. */
  ownerOrg: organisationIdSchema,
  /** Organisation holding the goods. */
  custodianOrg: organisationIdSchema,
  // S4.2's seven coded fields, under the seed's names.
  owner: z.string().regex(/^\d{4,12}$/),
  product_id: z.string().regex(/^\d{14}$/),
  pre_product_id: z.array(lotLinkSchema).max(MAX_LINKS),
  dir_product_id: z.array(lotLinkSchema).max(MAX_LINKS),
  location: glnOrNull,
  pre_location: glnOrNull,
  dir_location: glnOrNull,
  attributes: attributesSchema,
  certificates: z.array(certificateSchema).max(MAX_CERTIFICATES),
  offer: offerSchema.optional(),
  createdAt: counter,
  /** Number of earlier versions written to history pages (ring position = seq mod ring + 1). */
  seq: counter,
  step: stepSchema,
});
/** A lot version. */
export type LotRecord = z.infer<typeof lotRecordSchema>;

/** A product (GTIN master data): one version. */
export const productRecordSchema = z.strictObject({
  gtin: z.string().regex(/^\d{14}$/),
  name: z.string().min(1).max(200),
  /** Product type (`grain`, `produce`, `meat`, …): decides the attributes every lot must carry. */
  productType: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/),
  /** Attributes every lot of the product must carry (besides those of its type). */
  requiredAttributes: z.array(attributeNameSchema).max(MAX_ATTRIBUTES),
  /** Brand owner. */
  organisationId: organisationIdSchema,
  /** The registered company prefix the GTIN lies under. */
  companyPrefix: z.string().regex(/^\d{4,12}$/),
  attributes: attributesSchema,
  createdAt: counter,
  seq: counter,
  step: stepSchema,
});
/** A product version. */
export type ProductRecord = z.infer<typeof productRecordSchema>;

/**
 * A node of the company-prefix tree: the owner when this exact prefix is registered, and how
 * many registered prefixes extend it (so that nesting is refused in both directions).
 */
export const prefixNodeSchema = z.strictObject({
  prefix: z.string().regex(/^\d{4,12}$/),
  organisationId: organisationIdSchema.optional(),
  /** Registered prefixes that start with this one (excluding itself). */
  descendants: counter,
  registeredAt: counter.optional(),
  txId: z
    .string()
    .regex(/^[0-9a-f]{128}$/)
    .optional(),
  height: counter.optional(),
});
/** A prefix node. */
export type PrefixNode = z.infer<typeof prefixNodeSchema>;

/** Kinds of location. */
export const LOCATION_KINDS = [
  "farm",
  "slaughterhouse",
  "processing",
  "warehouse",
  "distribution",
  "retail",
  "port",
  "laboratory",
  "other",
] as const;

/** A location (GLN) of an organisation. */
export const locationRecordSchema = z.strictObject({
  gln: z.string().regex(/^\d{13}$/),
  organisationId: organisationIdSchema,
  /** The registered prefix the GLN lies under. */
  companyPrefix: z.string().regex(/^\d{4,12}$/),
  name: z.string().min(1).max(200),
  kind: z.enum(LOCATION_KINDS),
  address: z.string().max(500).optional(),
  createdAt: counter,
  by: z.string().max(140),
  txId: z.string().regex(/^[0-9a-f]{128}$/),
  height: counter,
});
/** A location as stored. */
export type LocationRecord = z.infer<typeof locationRecordSchema>;

/** S4.5's user record: the identity family's agent, mirrored per role for Sawtooth-era tools. */
export const userRecordSchema = z.strictObject({
  publicKey: z.string().max(140),
  role: z.enum(["system_admin", "org_admin", "operator", "auditor"]),
  roleCode: z.enum(Object.values(TRACE_ROLE_CODES) as ["11", "12", "13", "14"]),
  organisationId: organisationIdSchema.optional(),
  active: z.boolean(),
  syncedAt: counter,
  txId: z.string().regex(/^[0-9a-f]{128}$/),
  height: counter,
});
/** A user record as stored. */
export type UserRecord = z.infer<typeof userRecordSchema>;

/** Canonical CBOR of any record of this family. */
export function encodeTraceRecord(
  record: LotRecord | ProductRecord | PrefixNode | LocationRecord | UserRecord | Offer,
): Uint8Array {
  return encodeCbor(record);
}

/** Decodes a lot version. */
export function decodeLotRecord(bytes: Uint8Array): LotRecord {
  return decodeRecord(bytes, lotRecordSchema);
}

/** Decodes a product version. */
export function decodeProductRecord(bytes: Uint8Array): ProductRecord {
  return decodeRecord(bytes, productRecordSchema);
}

/** Decodes a prefix node. */
export function decodePrefixNode(bytes: Uint8Array): PrefixNode {
  return decodeRecord(bytes, prefixNodeSchema);
}

/** Decodes a location. */
export function decodeLocationRecord(bytes: Uint8Array): LocationRecord {
  return decodeRecord(bytes, locationRecordSchema);
}

/** Decodes a user record. */
export function decodeUserRecord(bytes: Uint8Array): UserRecord {
  return decodeRecord(bytes, userRecordSchema);
}

/** Decodes an offer. */
export function decodeOfferRecord(bytes: Uint8Array): Offer {
  return decodeRecord(bytes, offerSchema);
}

/**
 * Attributes every lot of a product type must carry. Types not listed need nothing beyond the
 * product's own `requiredAttributes`; a new type is added here, in one table.
 */
export const PRODUCT_TYPE_REQUIREMENTS: Readonly<Record<string, readonly string[]>> = {
  grain: ["harvestDate"],
  produce: ["harvestDate"],
  fruit: ["harvestDate"],
  vegetable: ["harvestDate"],
  meat: ["slaughterDate"],
  poultry: ["slaughterDate"],
  seafood: ["catchDate"],
  dairy: ["productionDate"],
};
