/**
 * The `APSChain` family: agricultural supply-chain traceability of seed 004 on govchain.
 *
 * Who may do what (S4.1) comes from the `identity` family through `signerIdentity()`:
 * organisation administrators (`org_admin`) register their organisation's locations and
 * products and do everything operators do; operators record the movement of goods (lots,
 * offers, receipts, splits, merges, transformations, sales) for their organisation; auditors
 * (tracers) only read; the system administrator assigns GS1 company prefixes and does not trade.
 * S4.5's user records are a mirror of those agents, refreshed by `sync_user`.
 *
 * Nothing changes hands without the receiver: an offer locks the lot until the addressee
 * accepts or rejects it (or the offerer cancels). Splits and merges conserve quantities
 * exactly (integers in the lot's unit). Every product and lot update first copies the current
 * record into the next history page (S4.5's ring buffer), and every operation emits an event.
 * Times are the block's, never the wall clock.
 */

import {
  type EventAttributes,
  InvalidTransaction,
  type SignerIdentity,
  type TransactionContext,
  type TransactionFamily,
  type TransactionRequest,
} from "../../execution/family.js";
import {
  type Gln,
  type Gtin14,
  glnCompanyDigits,
  gtinCompanyDigits,
  prefixAncestors,
  prefixCandidates,
} from "../../gs1/index.js";
import { decodeOrganisationRecord, organisationAddress } from "../identity/identity.js";
import {
  CURRENT_PAGE,
  historyPageFor,
  lotKey,
  pageHex,
  TRACE_FAMILY,
  TRACE_HISTORY_PAGES,
  TRACE_NAMESPACE,
  TRACE_ROLE_CODES,
  TRACE_VERSION,
  traceLocationAddress,
  traceLotAddress,
  traceLotPrefix,
  traceOfferAddress,
  tracePrefixAddress,
  traceProductAddress,
  traceProductPrefix,
  traceUserAddress,
} from "./addresses.js";
import {
  type Attributes,
  type Certificate,
  decodeLocationRecord,
  decodeLotRecord,
  decodeOfferRecord,
  decodePrefixNode,
  decodeProductRecord,
  encodeTraceRecord,
  type LocationRecord,
  type LotLink,
  type LotRecord,
  MAX_LINKS,
  MAX_QUANTITY,
  type Offer,
  PRODUCT_TYPE_REQUIREMENTS,
  type PrefixNode,
  type ProductRecord,
  type Step,
  type TraceAction,
  type UserRecord,
} from "./records.js";
import { type DecodedTracePayload, decodeTracePayload } from "./trace-payload.js";

/** Options of `createTraceFamily`. */
export interface TraceFamilyOptions {
  /**
   * History pages per product or lot (pages 1…historyPages form the ring). Default 0xffff, the
   * S4.5 layout; every node of a chain must use the same value (tests use a small ring to reach
   * wrap-around quickly).
   */
  readonly historyPages?: number;
}

type Entry = [string, Uint8Array];

/** Who is acting, once the permission check passed. */
interface Actor {
  readonly organisationId: string;
  readonly isAdmin: boolean;
}

/** The per-transaction toolkit the operations share. */
interface Tx {
  readonly context: TransactionContext;
  readonly request: TransactionRequest;
  readonly ring: number;
  readonly signer: SignerIdentity | undefined;
  step(action: TraceAction, organisationId: string, extra?: Partial<Step>): Step;
  event(type: string, attributes: EventAttributes): void;
}

const EVENT_PREFIX = `${TRACE_FAMILY}/`;

function fail(message: string): never {
  throw new InvalidTransaction(message);
}

function hasRole(identity: SignerIdentity | undefined, role: string): boolean {
  return identity?.active === true && identity.roles.includes(role);
}

/**
 * The organisation the signer acts for. Refuses unregistered or disabled agents, tracers
 * (read-only), system administrators without an organisation role, and — with `adminOnly` —
 * operators.
 */
function actorOf(signer: SignerIdentity | undefined, what: string, adminOnly = false): Actor {
  if (!signer) fail(`${what}: the signer is not a registered agent`);
  if (!signer.active) fail(`${what}: the signer's agent record is disabled`);
  const isAdmin = signer.roles.includes("org_admin");
  const isOperator = signer.roles.includes("operator");
  if (signer.organisationId === undefined || (!isAdmin && !isOperator)) {
    if (signer.roles.includes("auditor"))
      fail(`${what}: auditors (tracers) may read and trace, not record supply-chain operations`);
    if (signer.roles.includes("system_admin"))
      fail(
        `${what}: a system administrator governs the network but does not act for an organisation`,
      );
    fail(`${what}: the signer holds no organisation role (org_admin or operator)`);
  }
  if (adminOnly && !isAdmin)
    fail(`${what}: only an administrator of ${signer.organisationId} may do this, not an operator`);
  return { organisationId: signer.organisationId, isAdmin };
}

async function readOne(
  context: TransactionContext,
  address: string,
): Promise<Uint8Array | undefined> {
  return (await context.getState([address])).get(address);
}

async function loadLot(tx: Tx, gtin: string, lot: string): Promise<LotRecord | undefined> {
  const bytes = await readOne(tx.context, traceLotAddress(gtin, lot));
  return bytes ? decodeLotRecord(bytes) : undefined;
}

async function requireLot(tx: Tx, gtin: string, lot: string): Promise<LotRecord> {
  const record = await loadLot(tx, gtin, lot);
  if (!record) fail(`lot ${lot} of GTIN ${gtin} does not exist`);
  return record;
}

async function loadProduct(tx: Tx, gtin: string): Promise<ProductRecord | undefined> {
  const bytes = await readOne(tx.context, traceProductAddress(gtin));
  return bytes ? decodeProductRecord(bytes) : undefined;
}

async function loadLocation(tx: Tx, gln: string): Promise<LocationRecord | undefined> {
  const bytes = await readOne(tx.context, traceLocationAddress(gln));
  return bytes ? decodeLocationRecord(bytes) : undefined;
}

/** The registered prefix owning these company digits, if any (prefixes never nest). */
async function owningPrefix(tx: Tx, companyDigits: string): Promise<PrefixNode | undefined> {
  const candidates = prefixCandidates(companyDigits);
  const values = await tx.context.getState(candidates.map(tracePrefixAddress));
  for (const prefix of candidates) {
    const bytes = values.get(tracePrefixAddress(prefix));
    if (!bytes) continue;
    const node = decodePrefixNode(bytes);
    if (node.organisationId !== undefined) return node;
  }
  return undefined;
}

/** Refuses unless the identifier lies under a company prefix registered to `organisationId`. */
async function requirePrefixOwner(
  tx: Tx,
  kind: "GTIN" | "GLN",
  id: string,
  companyDigits: string,
  organisationId: string,
): Promise<PrefixNode> {
  const node = await owningPrefix(tx, companyDigits);
  if (!node) fail(`${kind} ${id} is not under any registered GS1 company prefix`);
  if (node.organisationId !== organisationId)
    fail(
      `${kind} ${id} lies under company prefix ${node.prefix}, registered to ${node.organisationId}, not to ${organisationId}`,
    );
  return node;
}

/**
 * The entries of a versioned update: the current record goes to its next history page (the
 * ring wraps onto the oldest page), the new one to page 0000 with `seq` advanced.
 */
function versionEntries<T extends LotRecord | ProductRecord>(
  prefix: string,
  previous: T,
  next: T,
  ring: number,
): Entry[] {
  const page = historyPageFor(previous.seq, ring);
  return [
    [prefix + pageHex(page), encodeTraceRecord(previous)],
    [prefix + pageHex(CURRENT_PAGE), encodeTraceRecord({ ...next, seq: previous.seq + 1 })],
  ];
}

function lotUpdate(tx: Tx, previous: LotRecord, next: LotRecord): Entry[] {
  return versionEntries(traceLotPrefix(previous.gtin, previous.lot), previous, next, tx.ring);
}

function lotCreate(record: LotRecord): Entry {
  return [traceLotAddress(record.gtin, record.lot), encodeTraceRecord(record)];
}

function link(gtin: string, lot: string, quantity: number): LotLink {
  return { gtin, lot, quantity };
}

function addLinks(existing: readonly LotLink[], added: readonly LotLink[], lot: string): LotLink[] {
  const links = [...existing, ...added];
  if (links.length > MAX_LINKS)
    fail(`lot ${lot} would have more than ${MAX_LINKS} linked lots; split it first`);
  return links;
}

/** Refuses operations on a lot that is not active or is locked by a pending offer. */
function requireMovable(record: LotRecord, what: string): void {
  if (record.offer)
    fail(
      `${what}: lot ${record.lot} is offered to ${record.offer.to}; the offer must be accepted, rejected or cancelled first`,
    );
  if (record.status !== "active")
    fail(`${what}: lot ${record.lot} is ${record.status} and can no longer change hands or form`);
}

/** Refuses unless the actor holds the lot: both its title (owner) and the goods (custodian). */
function requireHolder(record: LotRecord, actor: Actor, what: string): void {
  if (record.ownerOrg !== actor.organisationId || record.custodianOrg !== actor.organisationId)
    fail(
      `${what}: lot ${record.lot} is owned by ${record.ownerOrg} and held by ${record.custodianOrg}; ${actor.organisationId} must be both`,
    );
}

/** Attributes a lot of `product` must carry. */
function requiredAttributes(product: ProductRecord): string[] {
  const byType = Object.hasOwn(PRODUCT_TYPE_REQUIREMENTS, product.productType)
    ? (PRODUCT_TYPE_REQUIREMENTS[product.productType] ?? [])
    : [];
  return [...new Set([...byType, ...product.requiredAttributes])];
}

function checkRequiredAttributes(
  product: ProductRecord,
  attributes: Attributes,
  lot: string,
): void {
  const missing = requiredAttributes(product).filter((name) => !Object.hasOwn(attributes, name));
  if (missing.length > 0)
    fail(
      `lot ${lot} of ${product.gtin} (${product.productType}) must carry the attribute(s) ${missing.join(", ")}`,
    );
}

function mergeAttributes(
  base: Attributes,
  set: Attributes | undefined,
  remove: readonly string[] | undefined,
): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(base))
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  for (const [k, v] of Object.entries(set ?? {}))
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  for (const k of remove ?? []) delete out[k];
  return out;
}

function mergeCertificates(
  base: readonly Certificate[],
  added: readonly Certificate[],
): Certificate[] {
  const out = base.filter((c) => !added.some((a) => a.scheme === c.scheme && a.id === c.id));
  out.push(...added);
  return out;
}

function checkDistinct(values: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) fail(`${what} lists ${v} twice`);
    seen.add(v);
  }
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** A lot record with the seven S4.2 fields, for a brand-new lot. */
function newLot(fields: {
  gtin: string;
  lot: string;
  productType: string;
  quantity: number;
  unit: string;
  ownerOrg: string;
  owner: string;
  location: string | null;
  preProducts: LotLink[];
  attributes: Attributes;
  certificates: Certificate[];
  step: Step;
}): LotRecord {
  return {
    gtin: fields.gtin,
    lot: fields.lot,
    productType: fields.productType,
    status: "active",
    quantity: fields.quantity,
    unit: fields.unit,
    initialQuantity: fields.quantity,
    soldQuantity: 0,
    ownerOrg: fields.ownerOrg,
    custodianOrg: fields.ownerOrg,
    owner: fields.owner,
    product_id: fields.gtin,
    pre_product_id: fields.preProducts,
    dir_product_id: [],
    location: fields.location,
    pre_location: null,
    dir_location: null,
    attributes: fields.attributes,
    certificates: fields.certificates,
    createdAt: fields.step.at,
    seq: 0,
    step: fields.step,
  };
}

function withoutOffer(record: LotRecord): LotRecord {
  const { offer: _offer, ...rest } = record;
  return rest;
}

type Payload<A extends DecodedTracePayload["action"]> = Extract<DecodedTracePayload, { action: A }>;

async function syncUser(tx: Tx, p: Payload<"sync_user">): Promise<void> {
  if (!tx.signer?.active) fail("sync_user: the signer is not an active registered agent");
  const identity = await tx.context.identityOf(p.publicKey);
  const sets: Entry[] = [];
  const deletes: string[] = [];
  for (const role of Object.keys(TRACE_ROLE_CODES) as (keyof typeof TRACE_ROLE_CODES)[]) {
    const address = traceUserAddress(role, p.publicKey);
    if (identity?.roles.includes(role)) {
      const record: UserRecord = {
        publicKey: p.publicKey,
        role,
        roleCode: TRACE_ROLE_CODES[role],
        ...(identity.organisationId !== undefined
          ? { organisationId: identity.organisationId }
          : {}),
        active: identity.active,
        syncedAt: tx.context.blockTimeMs,
        txId: tx.request.id,
        height: Number(tx.context.blockHeight),
      };
      sets.push([address, encodeTraceRecord(record)]);
    } else deletes.push(address);
  }
  await tx.context.setState(sets);
  await tx.context.deleteState(deletes);
  tx.event("user-synced", [
    ["public_key", p.publicKey],
    ["roles", (identity?.roles ?? []).join(",")],
  ]);
}

async function registerPrefix(tx: Tx, p: Payload<"register_prefix">): Promise<void> {
  if (!hasRole(tx.signer, "system_admin"))
    fail("register_prefix: only a system administrator assigns GS1 company prefixes");
  const orgBytes = await readOne(tx.context, organisationAddress(p.organisationId));
  if (!orgBytes) fail(`register_prefix: organisation ${p.organisationId} does not exist`);
  if (!decodeOrganisationRecord(orgBytes).active)
    fail(`register_prefix: organisation ${p.organisationId} is not active`);
  const ancestors = prefixAncestors(p.prefix);
  const addresses = [...ancestors, p.prefix].map(tracePrefixAddress);
  const values = await tx.context.getState(addresses);
  const nodeOf = (prefix: string): PrefixNode | undefined => {
    const bytes = values.get(tracePrefixAddress(prefix));
    return bytes ? decodePrefixNode(bytes) : undefined;
  };
  const self = nodeOf(p.prefix);
  if (self?.organisationId !== undefined)
    fail(`company prefix ${p.prefix} is already registered to ${self.organisationId}`);
  if (self && self.descendants > 0)
    fail(
      `company prefix ${p.prefix} would contain ${self.descendants} registered longer prefix(es); prefixes must not nest`,
    );
  for (const ancestor of ancestors) {
    const node = nodeOf(ancestor);
    if (node?.organisationId !== undefined)
      fail(
        `company prefix ${p.prefix} lies inside ${ancestor}, registered to ${node.organisationId}; prefixes must not nest`,
      );
  }
  const entries: Entry[] = [
    [
      tracePrefixAddress(p.prefix),
      encodeTraceRecord({
        prefix: p.prefix,
        organisationId: p.organisationId,
        descendants: self?.descendants ?? 0,
        registeredAt: tx.context.blockTimeMs,
        txId: tx.request.id,
        height: Number(tx.context.blockHeight),
      }),
    ],
  ];
  for (const ancestor of ancestors) {
    const node = nodeOf(ancestor) ?? { prefix: ancestor, descendants: 0 };
    entries.push([
      tracePrefixAddress(ancestor),
      encodeTraceRecord({ ...node, descendants: node.descendants + 1 }),
    ]);
  }
  await tx.context.setState(entries);
  tx.event("prefix-registered", [
    ["prefix", p.prefix],
    ["organisation", p.organisationId],
  ]);
}

async function registerLocation(tx: Tx, p: Payload<"register_location">): Promise<void> {
  const actor = actorOf(tx.signer, "register_location", true);
  const node = await requirePrefixOwner(
    tx,
    "GLN",
    p.gln,
    glnCompanyDigits(p.gln),
    actor.organisationId,
  );
  const existing = await loadLocation(tx, p.gln);
  if (existing) fail(`location ${p.gln} is already registered by ${existing.organisationId}`);
  const record: LocationRecord = {
    gln: p.gln,
    organisationId: actor.organisationId,
    companyPrefix: node.prefix,
    name: p.name,
    kind: p.kind,
    ...(p.address !== undefined ? { address: p.address } : {}),
    createdAt: tx.context.blockTimeMs,
    by: tx.context.signerPublicKey,
    txId: tx.request.id,
    height: Number(tx.context.blockHeight),
  };
  await tx.context.setState([[traceLocationAddress(p.gln), encodeTraceRecord(record)]]);
  tx.event("location-registered", [
    ["gln", p.gln],
    ["organisation", actor.organisationId],
    ["kind", p.kind],
  ]);
}

async function createProduct(tx: Tx, p: Payload<"create_product">): Promise<void> {
  const actor = actorOf(tx.signer, "create_product", true);
  const node = await requirePrefixOwner(
    tx,
    "GTIN",
    p.gtin,
    gtinCompanyDigits(p.gtin),
    actor.organisationId,
  );
  const existing = await loadProduct(tx, p.gtin);
  if (existing) fail(`product ${p.gtin} already exists (${existing.name})`);
  const record: ProductRecord = {
    gtin: p.gtin,
    name: p.name,
    productType: p.productType,
    requiredAttributes: [...new Set(p.requiredAttributes)],
    organisationId: actor.organisationId,
    companyPrefix: node.prefix,
    attributes: p.attributes,
    createdAt: tx.context.blockTimeMs,
    seq: 0,
    step: tx.step("create_product", actor.organisationId),
  };
  await tx.context.setState([[traceProductAddress(p.gtin), encodeTraceRecord(record)]]);
  tx.event("product-created", [
    ["gtin", p.gtin],
    ["organisation", actor.organisationId],
    ["product_type", p.productType],
  ]);
}

async function updateProduct(tx: Tx, p: Payload<"update_product">): Promise<void> {
  const actor = actorOf(tx.signer, "update_product", true);
  const product = await loadProduct(tx, p.gtin);
  if (!product) fail(`product ${p.gtin} does not exist`);
  if (product.organisationId !== actor.organisationId)
    fail(
      `update_product: product ${p.gtin} belongs to ${product.organisationId}, not ${actor.organisationId}`,
    );
  const next: ProductRecord = {
    ...product,
    ...(p.name !== undefined ? { name: p.name } : {}),
    attributes: mergeAttributes(product.attributes, p.attributes, p.removeAttributes),
    step: tx.step("update_product", actor.organisationId),
  };
  await tx.context.setState(versionEntries(traceProductPrefix(p.gtin), product, next, tx.ring));
  tx.event("product-updated", [
    ["gtin", p.gtin],
    ["organisation", actor.organisationId],
  ]);
}

async function createLot(tx: Tx, p: Payload<"create_lot">): Promise<void> {
  const actor = actorOf(tx.signer, "create_lot");
  const product = await loadProduct(tx, p.gtin);
  if (!product) fail(`create_lot: product ${p.gtin} is not registered`);
  if (product.organisationId !== actor.organisationId)
    fail(
      `create_lot: lots of ${p.gtin} can only be created by its brand owner ${product.organisationId}, not ${actor.organisationId}`,
    );
  await requireOwnLocation(tx, p.location, actor, "create_lot");
  if (await loadLot(tx, p.gtin, p.lot)) fail(`lot ${p.lot} of GTIN ${p.gtin} already exists`);
  checkRequiredAttributes(product, p.attributes, p.lot);
  const record = newLot({
    gtin: p.gtin,
    lot: p.lot,
    productType: product.productType,
    quantity: p.quantity,
    unit: p.unit,
    ownerOrg: actor.organisationId,
    owner: product.companyPrefix,
    location: p.location,
    preProducts: [],
    attributes: p.attributes,
    certificates: p.certificates,
    step: tx.step("create_lot", actor.organisationId, { amount: p.quantity }),
  });
  await tx.context.setState([lotCreate(record)]);
  tx.event("lot-created", lotEventAttributes(record, actor.organisationId));
}

async function requireOwnLocation(
  tx: Tx,
  gln: Gln,
  actor: Actor,
  what: string,
): Promise<LocationRecord> {
  const location = await loadLocation(tx, gln);
  if (!location) fail(`${what}: location ${gln} is not registered`);
  if (location.organisationId !== actor.organisationId)
    fail(
      `${what}: location ${gln} belongs to ${location.organisationId}, not ${actor.organisationId}`,
    );
  return location;
}

function lotEventAttributes(record: LotRecord, organisationId: string): [string, string][] {
  return [
    ["gtin", record.gtin],
    ["lot", record.lot],
    ["organisation", organisationId],
  ];
}

async function updateLot(tx: Tx, p: Payload<"update_lot">): Promise<void> {
  const actor = actorOf(tx.signer, "update_lot");
  const record = await requireLot(tx, p.gtin, p.lot);
  if (record.ownerOrg !== actor.organisationId && record.custodianOrg !== actor.organisationId)
    fail(
      `update_lot: lot ${p.lot} is owned by ${record.ownerOrg} and held by ${record.custodianOrg}, not ${actor.organisationId}`,
    );
  if (record.offer)
    fail(`update_lot: lot ${p.lot} is offered to ${record.offer.to}; settle the offer first`);
  const attributes = mergeAttributes(record.attributes, p.attributes, p.removeAttributes);
  const product = await loadProduct(tx, record.gtin);
  // Removing an attribute the product requires would leave the lot incomplete.
  if (product) checkRequiredAttributes(product, attributes, p.lot);
  const next: LotRecord = {
    ...record,
    attributes,
    certificates: mergeCertificates(record.certificates, p.certificates ?? []),
    step: tx.step("update_lot", actor.organisationId),
  };
  await tx.context.setState(lotUpdate(tx, record, next));
  tx.event("lot-updated", lotEventAttributes(record, actor.organisationId));
}

async function offer(tx: Tx, p: Payload<"offer">): Promise<void> {
  const actor = actorOf(tx.signer, "offer");
  const record = await requireLot(tx, p.gtin, p.lot);
  requireMovable(record, "offer");
  if (p.to === actor.organisationId)
    fail(
      `offer: ${actor.organisationId} cannot offer lot ${p.lot} to itself; use receive to move it between own locations`,
    );
  const ownsTitle = record.ownerOrg === actor.organisationId;
  const holdsGoods = record.custodianOrg === actor.organisationId;
  if ((p.kind === "ownership" || p.kind === "both") && !ownsTitle)
    fail(`offer: only the owner ${record.ownerOrg} may offer ownership of lot ${p.lot}`);
  if ((p.kind === "custody" || p.kind === "both") && !holdsGoods)
    fail(`offer: only the custodian ${record.custodianOrg} may offer custody of lot ${p.lot}`);
  const destination = await loadLocation(tx, p.toLocation);
  if (!destination) fail(`offer: location ${p.toLocation} is not registered`);
  if (destination.organisationId !== p.to)
    fail(
      `offer: location ${p.toLocation} belongs to ${destination.organisationId}, not to ${p.to}`,
    );
  const pending: Offer = {
    gtin: p.gtin,
    lot: p.lot,
    to: p.to,
    toLocation: p.toLocation,
    toCompanyPrefix: destination.companyPrefix,
    kind: p.kind,
    from: actor.organisationId,
    by: tx.context.signerPublicKey,
    at: tx.context.blockTimeMs,
    txId: tx.request.id,
    height: Number(tx.context.blockHeight),
  };
  const next: LotRecord = {
    ...record,
    offer: pending,
    // Goods are headed for the receiver's GLN only when custody moves.
    dir_location: p.kind === "ownership" ? record.dir_location : p.toLocation,
    step: tx.step("offer", actor.organisationId, { counterpart: p.to, amount: record.quantity }),
  };
  await tx.context.setState([
    ...lotUpdate(tx, record, next),
    [traceOfferAddress(p.to, p.gtin, p.lot), encodeTraceRecord(pending)],
  ]);
  tx.event("offer-made", [
    ...lotEventAttributes(record, actor.organisationId),
    ["to", p.to],
    ["kind", p.kind],
  ]);
}

/** The lot and its pending offer, checked to be addressed as the payload says. */
async function pendingOffer(
  tx: Tx,
  p: { gtin: Gtin14; lot: string; to: string },
  what: string,
): Promise<{ record: LotRecord; pending: Offer }> {
  const record = await requireLot(tx, p.gtin, p.lot);
  const pending = record.offer;
  if (!pending) fail(`${what}: lot ${p.lot} has no pending offer`);
  if (pending.to !== p.to)
    fail(
      `${what}: the pending offer of lot ${p.lot} is addressed to ${pending.to}, not to ${p.to}`,
    );
  const inbox = await readOne(tx.context, traceOfferAddress(p.to, p.gtin, p.lot));
  // The inbox entry and the lot's offer are written and removed together.
  if (!inbox || decodeOfferRecord(inbox).txId !== pending.txId)
    fail(`${what}: the offer of lot ${p.lot} is missing from ${p.to}'s inbox`);
  return { record, pending };
}

async function acceptOffer(tx: Tx, p: Payload<"accept_offer">): Promise<void> {
  const actor = actorOf(tx.signer, "accept_offer");
  const record = await requireLot(tx, p.gtin, p.lot);
  if (record.offer && record.offer.to !== actor.organisationId)
    fail(
      `accept_offer: lot ${p.lot} is offered to ${record.offer.to}; ${actor.organisationId} cannot accept an offer made to another organisation`,
    );
  if (p.to !== actor.organisationId)
    fail(
      `accept_offer: the payload names ${p.to}, but the signer acts for ${actor.organisationId}`,
    );
  const { pending } = await pendingOffer(tx, p, "accept_offer");
  const movesTitle = pending.kind === "ownership" || pending.kind === "both";
  const movesGoods = pending.kind === "custody" || pending.kind === "both";
  if (p.receive && !movesGoods)
    fail("accept_offer: receive applies to custody transfers; this offer moves ownership only");
  const next: LotRecord = {
    ...withoutOffer(record),
    ...(movesTitle ? { ownerOrg: pending.to, owner: pending.toCompanyPrefix } : {}),
    ...(movesGoods ? { custodianOrg: pending.to } : {}),
    ...(p.receive
      ? { pre_location: record.location, location: pending.toLocation, dir_location: null }
      : {}),
    step: tx.step("accept_offer", actor.organisationId, {
      counterpart: pending.from,
      amount: record.quantity,
    }),
  };
  await tx.context.setState(lotUpdate(tx, record, next));
  await tx.context.deleteState([traceOfferAddress(pending.to, p.gtin, p.lot)]);
  tx.event("offer-accepted", [
    ...lotEventAttributes(record, actor.organisationId),
    ["from", pending.from],
    ["kind", pending.kind],
  ]);
}

async function rejectOffer(tx: Tx, p: Payload<"reject_offer">): Promise<void> {
  const actor = actorOf(tx.signer, "reject_offer");
  const record = await requireLot(tx, p.gtin, p.lot);
  if (record.offer && record.offer.to !== actor.organisationId)
    fail(
      `reject_offer: lot ${p.lot} is offered to ${record.offer.to}; ${actor.organisationId} cannot reject an offer made to another organisation`,
    );
  if (p.to !== actor.organisationId)
    fail(
      `reject_offer: the payload names ${p.to}, but the signer acts for ${actor.organisationId}`,
    );
  const { pending } = await pendingOffer(tx, p, "reject_offer");
  await settleOffer(tx, record, pending, "reject_offer", actor, p.reason);
  tx.event("offer-rejected", [
    ...lotEventAttributes(record, actor.organisationId),
    ["from", pending.from],
  ]);
}

async function cancelOffer(tx: Tx, p: Payload<"cancel_offer">): Promise<void> {
  const actor = actorOf(tx.signer, "cancel_offer");
  const { record, pending } = await pendingOffer(tx, p, "cancel_offer");
  if (pending.from !== actor.organisationId)
    fail(
      `cancel_offer: the offer of lot ${p.lot} was made by ${pending.from}, not ${actor.organisationId}`,
    );
  await settleOffer(tx, record, pending, "cancel_offer", actor, undefined);
  tx.event("offer-cancelled", [
    ...lotEventAttributes(record, actor.organisationId),
    ["to", pending.to],
  ]);
}

/** Clears a pending offer without moving anything (reject or cancel). */
async function settleOffer(
  tx: Tx,
  record: LotRecord,
  pending: Offer,
  action: "reject_offer" | "cancel_offer",
  actor: Actor,
  note: string | undefined,
): Promise<void> {
  const next: LotRecord = {
    ...withoutOffer(record),
    dir_location: pending.kind === "ownership" ? record.dir_location : null,
    step: tx.step(action, actor.organisationId, {
      counterpart: action === "reject_offer" ? pending.from : pending.to,
      ...(note !== undefined ? { note } : {}),
    }),
  };
  await tx.context.setState(lotUpdate(tx, record, next));
  await tx.context.deleteState([traceOfferAddress(pending.to, pending.gtin, pending.lot)]);
}

async function receive(tx: Tx, p: Payload<"receive">): Promise<void> {
  const actor = actorOf(tx.signer, "receive");
  const record = await requireLot(tx, p.gtin, p.lot);
  requireMovable(record, "receive");
  if (record.custodianOrg !== actor.organisationId)
    fail(`receive: lot ${p.lot} is held by ${record.custodianOrg}, not ${actor.organisationId}`);
  await requireOwnLocation(tx, p.location, actor, "receive");
  if (record.location === p.location) fail(`receive: lot ${p.lot} is already at ${p.location}`);
  const next: LotRecord = {
    ...record,
    pre_location: record.location,
    location: p.location,
    dir_location: null,
    step: tx.step("receive", actor.organisationId, { amount: record.quantity }),
  };
  await tx.context.setState(lotUpdate(tx, record, next));
  tx.event("lot-received", [
    ...lotEventAttributes(record, actor.organisationId),
    ["gln", p.location],
  ]);
}

async function split(tx: Tx, p: Payload<"split">): Promise<void> {
  const actor = actorOf(tx.signer, "split");
  const record = await requireLot(tx, p.gtin, p.lot);
  requireMovable(record, "split");
  requireHolder(record, actor, "split");
  checkDistinct([p.lot, ...p.parts.map((part) => part.lot)], "split");
  const total = sum(p.parts.map((part) => part.quantity));
  if (total !== record.quantity)
    fail(
      `split: the parts add up to ${total} ${record.unit} but lot ${p.lot} holds ${record.quantity} ${record.unit}; a split must conserve the quantity`,
    );
  const step = tx.step("split", actor.organisationId, { amount: record.quantity });
  const entries: Entry[] = [];
  for (const part of p.parts) {
    if (await loadLot(tx, p.gtin, part.lot))
      fail(`split: lot ${part.lot} of GTIN ${p.gtin} already exists`);
    entries.push(
      lotCreate({
        ...newLot({
          gtin: p.gtin,
          lot: part.lot,
          productType: record.productType,
          quantity: part.quantity,
          unit: record.unit,
          ownerOrg: record.ownerOrg,
          owner: record.owner,
          location: record.location,
          preProducts: [link(p.gtin, p.lot, part.quantity)],
          attributes: record.attributes,
          certificates: record.certificates,
          step: { ...step, amount: part.quantity },
        }),
      }),
    );
  }
  const next: LotRecord = {
    ...record,
    status: "split",
    quantity: 0,
    dir_product_id: addLinks(
      record.dir_product_id,
      p.parts.map((part) => link(p.gtin, part.lot, part.quantity)),
      p.lot,
    ),
    step,
  };
  entries.push(...lotUpdate(tx, record, next));
  await tx.context.setState(entries);
  tx.event("lot-split", [
    ...lotEventAttributes(record, actor.organisationId),
    ["parts", p.parts.map((part) => part.lot).join(",")],
  ]);
}

async function merge(tx: Tx, p: Payload<"merge">): Promise<void> {
  const actor = actorOf(tx.signer, "merge");
  checkDistinct([...p.lots, p.into], "merge");
  const inputs: LotRecord[] = [];
  for (const l of p.lots) {
    const record = await requireLot(tx, p.gtin, l);
    requireMovable(record, "merge");
    requireHolder(record, actor, "merge");
    inputs.push(record);
  }
  const first = inputs[0];
  if (!first) fail("merge: no input lots");
  for (const record of inputs) {
    if (record.unit !== first.unit)
      fail(
        `merge: lot ${record.lot} is measured in ${record.unit}, lot ${first.lot} in ${first.unit}`,
      );
    if (record.location !== first.location)
      fail(
        `merge: lot ${record.lot} is at ${record.location ?? "no location"}, lot ${first.lot} at ${first.location ?? "no location"}; merge lots at one place`,
      );
  }
  if (await loadLot(tx, p.gtin, p.into))
    fail(`merge: lot ${p.into} of GTIN ${p.gtin} already exists`);
  const total = sum(inputs.map((r) => r.quantity));
  if (total > MAX_QUANTITY) fail("merge: the merged quantity is too large");
  // Only what every input agrees on carries over; the payload supplies the rest.
  const common: Attributes = {};
  for (const [name, value] of Object.entries(first.attributes)) {
    if (inputs.every((r) => Object.hasOwn(r.attributes, name) && r.attributes[name] === value))
      Object.defineProperty(common, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  const attributes = mergeAttributes(common, p.attributes, undefined);
  const certificates = first.certificates.filter((c) =>
    inputs.every((r) => r.certificates.some((o) => o.scheme === c.scheme && o.id === c.id)),
  );
  const product = await loadProduct(tx, p.gtin);
  const missing = product
    ? requiredAttributes(product).filter((name) => !Object.hasOwn(attributes, name))
    : [];
  if (missing.length > 0)
    fail(
      `merge: the inputs disagree on ${missing.join(", ")}; give the merged lot's value in attributes`,
    );
  const step = tx.step("merge", actor.organisationId, { amount: total });
  const entries: Entry[] = [
    lotCreate(
      newLot({
        gtin: p.gtin,
        lot: p.into,
        productType: first.productType,
        quantity: total,
        unit: first.unit,
        ownerOrg: actor.organisationId,
        owner: first.owner,
        location: first.location,
        preProducts: inputs.map((r) => link(r.gtin, r.lot, r.quantity)),
        attributes,
        certificates,
        step,
      }),
    ),
  ];
  for (const record of inputs) {
    const next: LotRecord = {
      ...record,
      status: "merged",
      quantity: 0,
      dir_product_id: addLinks(
        record.dir_product_id,
        [link(p.gtin, p.into, record.quantity)],
        record.lot,
      ),
      step: { ...step, amount: record.quantity },
    };
    entries.push(...lotUpdate(tx, record, next));
  }
  await tx.context.setState(entries);
  tx.event("lots-merged", [
    ["gtin", p.gtin],
    ["lot", p.into],
    ["organisation", actor.organisationId],
    ["inputs", p.lots.join(",")],
  ]);
}

async function transform(tx: Tx, p: Payload<"transform">): Promise<void> {
  const actor = actorOf(tx.signer, "transform");
  const site = await requireOwnLocation(tx, p.location, actor, "transform");
  const inputKeys = p.inputs.map((i) => lotKey(i.gtin, i.lot));
  const outputKeys = p.outputs.map((o) => lotKey(o.gtin, o.lot));
  checkDistinct([...inputKeys, ...outputKeys], "transform");
  const step = tx.step("transform", actor.organisationId);
  const inputs: { record: LotRecord; consumed: number }[] = [];
  for (const input of p.inputs) {
    const record = await requireLot(tx, input.gtin, input.lot);
    requireMovable(record, "transform");
    requireHolder(record, actor, "transform");
    if (record.location !== site.gln)
      fail(
        `transform: input lot ${input.lot} is at ${record.location ?? "no location"}, not at the site ${site.gln}`,
      );
    if (input.quantity > record.quantity)
      fail(
        `transform: input lot ${input.lot} holds ${record.quantity} ${record.unit}, cannot consume ${input.quantity}`,
      );
    inputs.push({ record, consumed: input.quantity });
  }
  const entries: Entry[] = [];
  for (const output of p.outputs) {
    const product = await loadProduct(tx, output.gtin);
    if (!product) fail(`transform: product ${output.gtin} is not registered`);
    if (product.organisationId !== actor.organisationId)
      fail(
        `transform: lots of ${output.gtin} can only be created by its brand owner ${product.organisationId}, not ${actor.organisationId}`,
      );
    if (await loadLot(tx, output.gtin, output.lot))
      fail(`transform: lot ${output.lot} of GTIN ${output.gtin} already exists`);
    checkRequiredAttributes(product, output.attributes, output.lot);
    entries.push(
      lotCreate(
        newLot({
          gtin: output.gtin,
          lot: output.lot,
          productType: product.productType,
          quantity: output.quantity,
          unit: output.unit,
          ownerOrg: actor.organisationId,
          owner: product.companyPrefix,
          location: site.gln,
          preProducts: inputs.map((i) => link(i.record.gtin, i.record.lot, i.consumed)),
          attributes: output.attributes,
          certificates: output.certificates,
          step: { ...step, amount: output.quantity },
        }),
      ),
    );
  }
  for (const { record, consumed } of inputs) {
    const remaining = record.quantity - consumed;
    const next: LotRecord = {
      ...record,
      quantity: remaining,
      status: remaining === 0 ? "consumed" : "active",
      // Each link carries the input's consumption by the whole transformation, in its unit.
      dir_product_id: addLinks(
        record.dir_product_id,
        p.outputs.map((o) => link(o.gtin, o.lot, consumed)),
        record.lot,
      ),
      step: { ...step, amount: consumed },
    };
    entries.push(...lotUpdate(tx, record, next));
  }
  await tx.context.setState(entries);
  tx.event("lots-transformed", [
    ["organisation", actor.organisationId],
    ["inputs", inputKeys.join(",")],
    ["outputs", outputKeys.join(",")],
  ]);
}

async function sell(tx: Tx, p: Payload<"sell">): Promise<void> {
  const actor = actorOf(tx.signer, "sell");
  const record = await requireLot(tx, p.gtin, p.lot);
  requireMovable(record, "sell");
  requireHolder(record, actor, "sell");
  if (p.quantity > record.quantity)
    fail(`sell: lot ${p.lot} holds ${record.quantity} ${record.unit}, cannot sell ${p.quantity}`);
  const remaining = record.quantity - p.quantity;
  const next: LotRecord = {
    ...record,
    quantity: remaining,
    soldQuantity: record.soldQuantity + p.quantity,
    status: remaining === 0 ? "sold" : "active",
    step: tx.step("sell", actor.organisationId, { amount: p.quantity }),
  };
  await tx.context.setState(lotUpdate(tx, record, next));
  tx.event("lot-sold", [
    ...lotEventAttributes(record, actor.organisationId),
    ["quantity", String(p.quantity)],
  ]);
}

/** Creates the family; `historyPages` sets the ring size (production: 0xffff). */
export function createTraceFamily(options: TraceFamilyOptions = {}): TransactionFamily {
  const ring = options.historyPages ?? TRACE_HISTORY_PAGES;
  if (!Number.isInteger(ring) || ring < 1 || ring > TRACE_HISTORY_PAGES)
    throw new RangeError(`historyPages must be an integer in 1…${TRACE_HISTORY_PAGES}`);
  return {
    name: TRACE_FAMILY,
    versions: [TRACE_VERSION],
    namespaces: [TRACE_NAMESPACE],

    checkPayload(request) {
      decodeTracePayload(request.payload);
    },

    async apply(request, context) {
      const payload = decodeTracePayload(request.payload);
      const tx: Tx = {
        context,
        request,
        ring,
        signer: await context.signerIdentity(),
        step(action, organisationId, extra = {}) {
          return {
            action,
            organisationId,
            by: context.signerPublicKey,
            at: context.blockTimeMs,
            txId: request.id,
            height: Number(context.blockHeight),
            ...extra,
          };
        },
        event(type, attributes) {
          context.addEvent(EVENT_PREFIX + type, attributes);
        },
      };
      switch (payload.action) {
        case "sync_user":
          return syncUser(tx, payload);
        case "register_prefix":
          return registerPrefix(tx, payload);
        case "register_location":
          return registerLocation(tx, payload);
        case "create_product":
          return createProduct(tx, payload);
        case "update_product":
          return updateProduct(tx, payload);
        case "create_lot":
          return createLot(tx, payload);
        case "update_lot":
          return updateLot(tx, payload);
        case "offer":
          return offer(tx, payload);
        case "accept_offer":
          return acceptOffer(tx, payload);
        case "reject_offer":
          return rejectOffer(tx, payload);
        case "cancel_offer":
          return cancelOffer(tx, payload);
        case "receive":
          return receive(tx, payload);
        case "split":
          return split(tx, payload);
        case "merge":
          return merge(tx, payload);
        case "transform":
          return transform(tx, payload);
        case "sell":
          return sell(tx, payload);
      }
    },
  };
}

/** The family as every node runs it (history ring of 0xffff pages). */
export const traceFamily: TransactionFamily = createTraceFamily();
