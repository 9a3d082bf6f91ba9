/**
 * State addresses of the `APSChain` family (S4.5). Every address is the family namespace
 * (first 6 hex of SHA-512("APSChain")), a 2-hex object group, and 62 hex chosen per group:
 *
 * | group | object                | remaining 62 hex                                                          |
 * | ----- | --------------------- | ------------------------------------------------------------------------- |
 * | `00`  | user (S4.5)           | role code (`11`…`14`) + first 60 hex of SHA-512(public key hex)           |
 * | `01`  | company prefix node   | the prefix's digits, padded with `f` to 62                                |
 * | `02`  | location (GLN)        | the 13 GLN digits, padded with `f` to 62                                  |
 * | `03`  | product (GTIN) (S4.5) | first 58 hex of SHA-512(GTIN-14) + 4-hex page                             |
 * | `04`  | lot (GTIN + lot)      | first 28 hex of SHA-512(GTIN-14) + first 30 hex of SHA-512(lot) + page    |
 * | `05`  | offer (inbox)         | first 30 hex of SHA-512(receiving organisation id) + 32 hex of the lot key |
 *
 * Page `0000` of a product or lot holds its current record; pages `0001`…`ffff` hold its
 * history as a ring buffer. Prefix nodes and locations spell their digits out (digits are hex)
 * so that listing state under `namespace + 01 + 952001` or `namespace + 02 + 952001` finds every
 * nested prefix or location of that company; lots of one GTIN share a 36-hex prefix so they can
 * be listed per product.
 */
import { familyNamespace, sha512Hex } from "../../execution/address.js";

/** Family name, as in S4.5. */
export const TRACE_FAMILY = "APSChain";
/** The one family version. */
export const TRACE_VERSION = "1.0";
/** First 6 hex of SHA-512("APSChain"). */
export const TRACE_NAMESPACE = familyNamespace(TRACE_FAMILY);

/** The object groups (2 hex each). */
export const TraceGroup = {
  USER: "00",
  COMPANY_PREFIX: "01",
  LOCATION: "02",
  PRODUCT: "03",
  LOT: "04",
  OFFER: "05",
} as const;

/** S4.5's user role codes, by identity role. */
export const TRACE_ROLE_CODES = {
  system_admin: "11",
  org_admin: "12",
  operator: "13",
  auditor: "14",
} as const;

/** Last history page of the production ring buffer (pages 0001…ffff). */
export const TRACE_HISTORY_PAGES = 0xffff;

/** The page holding the current record. */
export const CURRENT_PAGE = 0;

/** A 4-hex page suffix. */
export function pageHex(page: number): string {
  return page.toString(16).padStart(4, "0");
}

/** Address of the S4.5 user record of `publicKey` in `role`. */
export function traceUserAddress(role: keyof typeof TRACE_ROLE_CODES, publicKey: string): string {
  return (
    TRACE_NAMESPACE + TraceGroup.USER + TRACE_ROLE_CODES[role] + sha512Hex(publicKey).slice(0, 60)
  );
}

/** Address of the node of a company prefix (4–12 digits). */
export function tracePrefixAddress(prefix: string): string {
  return TRACE_NAMESPACE + TraceGroup.COMPANY_PREFIX + prefix.padEnd(62, "f");
}

/** Address of a location (GLN-13). */
export function traceLocationAddress(gln: string): string {
  return TRACE_NAMESPACE + TraceGroup.LOCATION + gln.padEnd(62, "f");
}

/** The 66-hex prefix of a product's pages (declare it to reach every page). */
export function traceProductPrefix(gtin14: string): string {
  return TRACE_NAMESPACE + TraceGroup.PRODUCT + sha512Hex(gtin14).slice(0, 58);
}

/** Address of page `page` of a product (0 = current record). */
export function traceProductAddress(gtin14: string, page = CURRENT_PAGE): string {
  return traceProductPrefix(gtin14) + pageHex(page);
}

/** The 36-hex prefix under which every lot of a GTIN lives. */
export function traceLotsOfGtinPrefix(gtin14: string): string {
  return TRACE_NAMESPACE + TraceGroup.LOT + sha512Hex(gtin14).slice(0, 28);
}

/** The 66-hex prefix of a lot's pages (declare it to reach every page). */
export function traceLotPrefix(gtin14: string, lot: string): string {
  return traceLotsOfGtinPrefix(gtin14) + sha512Hex(lot).slice(0, 30);
}

/** Address of page `page` of a lot (0 = current record). */
export function traceLotAddress(gtin14: string, lot: string, page = CURRENT_PAGE): string {
  return traceLotPrefix(gtin14, lot) + pageHex(page);
}

/**
 * The GS1 element string of a lot, `01{gtin14}10{lot}`: the lot's key in links, offers and
 * trace results (AI 10 is variable-length and last, so the string is unambiguous).
 */
export function lotKey(gtin14: string, lot: string): string {
  return `01${gtin14}10${lot}`;
}

/** The 36-hex prefix of every offer addressed to `organisationId` (its inbox). */
export function traceOfferInboxPrefix(organisationId: string): string {
  return TRACE_NAMESPACE + TraceGroup.OFFER + sha512Hex(organisationId).slice(0, 30);
}

/** Address of the pending offer of a lot to `organisationId`. */
export function traceOfferAddress(organisationId: string, gtin14: string, lot: string): string {
  return traceOfferInboxPrefix(organisationId) + sha512Hex(lotKey(gtin14, lot)).slice(0, 32);
}

/**
 * The history page that the `seq`-th update (0-based) writes: `1 + seq mod ringPages`, so
 * update `ringPages` wraps around and overwrites page 1, the oldest.
 */
export function historyPageFor(seq: number, ringPages: number = TRACE_HISTORY_PAGES): number {
  return 1 + (seq % ringPages);
}

/**
 * History pages of a record that has had `seq` updates, newest first, at most `limit` of them
 * (the ring keeps the last `ringPages`).
 */
export function historyPagesNewestFirst(
  seq: number,
  limit: number,
  ringPages: number = TRACE_HISTORY_PAGES,
): number[] {
  const kept = Math.min(seq, ringPages, Math.max(0, limit));
  const pages: number[] = [];
  for (let i = 1; i <= kept; i++) pages.push(historyPageFor(seq - i, ringPages));
  return pages;
}
