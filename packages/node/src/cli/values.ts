/**
 * How the CLI shows state values: always base64 (what the REST API carries), plus the decoded
 * record where the address belongs to a built-in family, or the text where the bytes are
 * printable UTF-8. Decoding is best-effort presentation: a value that does not decode is
 * shown raw, never an error.
 */
import { toBase64 } from "../common/bytes.js";
import {
  decodeAgentRecord,
  decodeIntkeyState,
  decodeOrganisationRecord,
  decodeSettingEntries,
  IDENTITY_NAMESPACE,
  INTKEY_NAMESPACE,
  PROPOSALS_SETTING,
  SETTINGS_NAMESPACE,
} from "../families/index.js";
import { decodeSettingCandidates } from "../wire/index.js";

/** A value as the CLI presents it. */
export interface ValueView {
  readonly base64: string;
  /** The value as text when it is printable UTF-8. */
  readonly text?: string;
  /** The family record, when the address is in a built-in family's namespace. */
  readonly decoded?: unknown;
  /** Which decoder produced `decoded`. */
  readonly kind?: "intkey" | "organisation" | "agent" | "setting";
}

const FATAL_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The text of `bytes` when it is valid UTF-8 without control characters other than whitespace. */
export function printableText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return "";
  let text: string;
  try {
    text = FATAL_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to detect them
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

function decodeSettingsValue(bytes: Uint8Array): unknown {
  return decodeSettingEntries(bytes).map((entry) => {
    if (entry.key !== PROPOSALS_SETTING) return entry;
    // Pending proposals are a base64 SettingCandidates message inside the setting's value.
    try {
      const candidates = decodeSettingCandidates(
        new Uint8Array(Buffer.from(entry.value, "base64")),
      );
      return { key: entry.key, proposals: candidates.candidates };
    } catch {
      return entry;
    }
  });
}

function decodeKnown(address: string, bytes: Uint8Array): Pick<ValueView, "decoded" | "kind"> {
  try {
    if (address.startsWith(INTKEY_NAMESPACE)) {
      return { kind: "intkey", decoded: Object.fromEntries(decodeIntkeyState(bytes)) };
    }
    if (address.startsWith(`${IDENTITY_NAMESPACE}00`)) {
      return { kind: "organisation", decoded: decodeOrganisationRecord(bytes) };
    }
    if (address.startsWith(`${IDENTITY_NAMESPACE}01`)) {
      return { kind: "agent", decoded: decodeAgentRecord(bytes) };
    }
    if (address.startsWith(SETTINGS_NAMESPACE)) {
      return { kind: "setting", decoded: decodeSettingsValue(bytes) };
    }
  } catch {
    // Not the family's format after all: show it raw.
  }
  return {};
}

/** The presentation of the value at `address`. */
export function viewValue(address: string, bytes: Uint8Array): ValueView {
  const known = decodeKnown(address, bytes);
  const text = known.decoded === undefined ? printableText(bytes) : undefined;
  return {
    base64: toBase64(bytes),
    ...(text !== undefined ? { text } : {}),
    ...known,
  };
}

/** A one-line summary of a value for tables. */
export function summariseValue(view: ValueView, max = 80): string {
  const body =
    view.decoded !== undefined
      ? JSON.stringify(view.decoded, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))
      : view.text !== undefined
        ? JSON.stringify(view.text)
        : `base64:${view.base64}`;
  return body.length > max ? `${body.slice(0, max - 1)}…` : body;
}
