/**
 * Payloads of the `APSChain` family (canonical CBOR maps with an `action`) and the state
 * addresses each one must declare. GS1 identifiers are checked here — check digits, company
 * prefix shape, lot character set — so a malformed identifier is refused at admission with the
 * exact reason, and GTINs arrive at `apply` already normalised to 14 digits.
 *
 * Every address a transaction touches is computable from its payload alone (no state lookups),
 * which is what lets a Sawtooth client fill in `inputs`/`outputs` offline. Products and lots
 * are declared by their 66-hex prefix so that the history page an update writes is covered
 * whatever the ring position.
 */
import { z } from "zod";
import {
  Gs1Error,
  glnCompanyDigits,
  gtinCompanyDigits,
  parseCompanyPrefix,
  parseGln,
  parseGtin,
  parseLotNumber,
  prefixCandidates,
} from "../../gs1/index.js";
import { organisationAddress } from "../identity/identity.js";
import { decodePayload, encodeCbor } from "../payload.js";
import {
  TRACE_FAMILY,
  TRACE_ROLE_CODES,
  traceLocationAddress,
  traceLotPrefix,
  traceOfferAddress,
  tracePrefixAddress,
  traceProductAddress,
  traceProductPrefix,
  traceUserAddress,
} from "./addresses.js";
import {
  attributeNameSchema,
  attributesSchema,
  certificateSchema,
  LOCATION_KINDS,
  MAX_CERTIFICATES,
  MAX_LINKS,
  OFFER_KINDS,
  organisationIdSchema,
  quantitySchema,
  unitSchema,
} from "./records.js";

/** A zod field that parses a GS1 identifier with `parse`, reporting the GS1 error's message. */
function gs1Field<T extends string>(parse: (text: string) => T) {
  return z.string().transform((text, ctx): T => {
    try {
      return parse(text);
    } catch (err) {
      if (!(err instanceof Gs1Error)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
      return z.NEVER;
    }
  });
}

const gtin = gs1Field(parseGtin);
const gln = gs1Field(parseGln);
const lot = gs1Field(parseLotNumber);
const companyPrefix = gs1Field(parseCompanyPrefix);
const positiveQuantity = quantitySchema.min(1, "quantities must be positive integers");
const publicKeyHex = z
  .string()
  .regex(/^(?:[0-9a-f]{64}|0[23][0-9a-f]{64})$/, "public keys are lower-case hex (32 or 33 bytes)");
const certificates = z.array(certificateSchema).max(MAX_CERTIFICATES);

const lotRef = { gtin, lot } as const;

const payloadSchema = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("sync_user"), publicKey: publicKeyHex }),
  z.strictObject({
    action: z.literal("register_prefix"),
    prefix: companyPrefix,
    organisationId: organisationIdSchema,
  }),
  z.strictObject({
    action: z.literal("register_location"),
    gln,
    name: z.string().min(1).max(200),
    kind: z.enum(LOCATION_KINDS).default("other"),
    address: z.string().max(500).optional(),
  }),
  z.strictObject({
    action: z.literal("create_product"),
    gtin,
    name: z.string().min(1).max(200),
    productType: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, "product types are lower-case words such as grain, meat"),
    requiredAttributes: z.array(attributeNameSchema).max(64).default([]),
    attributes: attributesSchema.default({}),
  }),
  z.strictObject({
    action: z.literal("update_product"),
    gtin,
    name: z.string().min(1).max(200).optional(),
    attributes: attributesSchema.optional(),
    removeAttributes: z.array(attributeNameSchema).max(64).optional(),
  }),
  z.strictObject({
    action: z.literal("create_lot"),
    ...lotRef,
    quantity: positiveQuantity,
    unit: unitSchema,
    location: gln,
    attributes: attributesSchema.default({}),
    certificates: certificates.default([]),
  }),
  z.strictObject({
    action: z.literal("update_lot"),
    ...lotRef,
    attributes: attributesSchema.optional(),
    removeAttributes: z.array(attributeNameSchema).max(64).optional(),
    /** Certificates to add (an existing scheme + id is replaced). */
    certificates: certificates.optional(),
  }),
  z.strictObject({
    action: z.literal("offer"),
    ...lotRef,
    to: organisationIdSchema,
    toLocation: gln,
    kind: z.enum(OFFER_KINDS),
  }),
  z.strictObject({
    action: z.literal("accept_offer"),
    ...lotRef,
    /** The accepting organisation (the offer's addressee). */
    to: organisationIdSchema,
    /** Also record arrival at the offered GLN (custody transfers). */
    receive: z.boolean().default(false),
  }),
  z.strictObject({
    action: z.literal("reject_offer"),
    ...lotRef,
    to: organisationIdSchema,
    reason: z.string().max(500).optional(),
  }),
  z.strictObject({ action: z.literal("cancel_offer"), ...lotRef, to: organisationIdSchema }),
  z.strictObject({ action: z.literal("receive"), ...lotRef, location: gln }),
  z.strictObject({
    action: z.literal("split"),
    ...lotRef,
    parts: z
      .array(z.strictObject({ lot, quantity: positiveQuantity }))
      .min(2, "a split makes at least two lots")
      .max(MAX_LINKS),
  }),
  z.strictObject({
    action: z.literal("merge"),
    gtin,
    lots: z.array(lot).min(2, "a merge takes at least two lots").max(MAX_LINKS),
    into: lot,
    attributes: attributesSchema.default({}),
  }),
  z.strictObject({
    action: z.literal("transform"),
    inputs: z
      .array(z.strictObject({ ...lotRef, quantity: positiveQuantity }))
      .min(1)
      .max(64),
    outputs: z
      .array(
        z.strictObject({
          ...lotRef,
          quantity: positiveQuantity,
          unit: unitSchema,
          attributes: attributesSchema.default({}),
          certificates: certificates.default([]),
        }),
      )
      .min(1)
      .max(64),
    /** Where the transformation happens (a GLN of the signer's organisation). */
    location: gln,
  }),
  z.strictObject({ action: z.literal("sell"), ...lotRef, quantity: positiveQuantity }),
]);

/** A payload as a client writes it (GTINs may be 8, 12, 13 or 14 digits). */
export type TracePayload = z.input<typeof payloadSchema>;
/** A decoded payload (GTINs normalised to 14 digits, defaults filled in). */
export type DecodedTracePayload = z.output<typeof payloadSchema>;

/** Encodes a payload (canonical CBOR). */
export function encodeTracePayload(payload: TracePayload): Uint8Array {
  return encodeCbor(payload);
}

/** Decodes and checks a payload; `InvalidTransaction` names the first problem. */
export function decodeTracePayload(bytes: Uint8Array): DecodedTracePayload {
  return decodePayload(bytes, payloadSchema, TRACE_FAMILY);
}

/** Checks a payload as a client builds it; throws `InvalidTransaction` like the family would. */
export function checkTracePayload(payload: TracePayload): DecodedTracePayload {
  return decodeTracePayload(encodeTracePayload(payload));
}

function prefixNodes(companyDigits: string): string[] {
  return prefixCandidates(companyDigits).map(tracePrefixAddress);
}

/**
 * The addresses a transaction with `payload` must declare, as both inputs and outputs (every
 * operation reads what it writes). Throws `InvalidTransaction` for a malformed payload.
 */
export function traceAddresses(payload: TracePayload): string[] {
  const p = checkTracePayload(payload);
  const out = new Set<string>();
  const add = (...addresses: string[]): void => {
    for (const a of addresses) out.add(a);
  };
  switch (p.action) {
    case "sync_user":
      for (const role of Object.keys(TRACE_ROLE_CODES) as (keyof typeof TRACE_ROLE_CODES)[])
        add(traceUserAddress(role, p.publicKey));
      break;
    case "register_prefix":
      add(...prefixNodes(p.prefix), organisationAddress(p.organisationId));
      break;
    case "register_location":
      add(traceLocationAddress(p.gln), ...prefixNodes(glnCompanyDigits(p.gln)));
      break;
    case "create_product":
      add(traceProductPrefix(p.gtin), ...prefixNodes(gtinCompanyDigits(p.gtin)));
      break;
    case "update_product":
      add(traceProductPrefix(p.gtin));
      break;
    case "create_lot":
      add(
        traceLotPrefix(p.gtin, p.lot),
        traceProductAddress(p.gtin),
        traceLocationAddress(p.location),
      );
      break;
    case "update_lot":
      add(traceLotPrefix(p.gtin, p.lot), traceProductAddress(p.gtin));
      break;
    case "sell":
      add(traceLotPrefix(p.gtin, p.lot));
      break;
    case "offer":
      add(
        traceLotPrefix(p.gtin, p.lot),
        traceLocationAddress(p.toLocation),
        traceOfferAddress(p.to, p.gtin, p.lot),
      );
      break;
    case "accept_offer":
    case "reject_offer":
    case "cancel_offer":
      add(traceLotPrefix(p.gtin, p.lot), traceOfferAddress(p.to, p.gtin, p.lot));
      break;
    case "receive":
      add(traceLotPrefix(p.gtin, p.lot), traceLocationAddress(p.location));
      break;
    case "split":
      add(
        traceLotPrefix(p.gtin, p.lot),
        ...p.parts.map((part) => traceLotPrefix(p.gtin, part.lot)),
      );
      break;
    case "merge":
      add(
        ...p.lots.map((l) => traceLotPrefix(p.gtin, l)),
        traceLotPrefix(p.gtin, p.into),
        traceProductAddress(p.gtin),
      );
      break;
    case "transform":
      add(
        ...p.inputs.map((i) => traceLotPrefix(i.gtin, i.lot)),
        ...p.outputs.flatMap((o) => [traceLotPrefix(o.gtin, o.lot), traceProductAddress(o.gtin)]),
        traceLocationAddress(p.location),
      );
      break;
  }
  return [...out];
}
