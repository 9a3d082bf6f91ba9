/**
 * Built-in transaction families: `sawtooth_settings` (chain parameters by administrators'
 * votes), `identity` (organisations, agents, roles) and `intkey` (Sawtooth's benchmark
 * family), plus the chain services built on identity and settings state.
 */
import type { TransactionFamily } from "../execution/family.js";
import { identityFamily } from "./identity/identity.js";
import { intkeyFamily } from "./intkey/intkey.js";
import { settingsFamily } from "./settings/settings.js";
import { traceFamily } from "./trace/index.js";

export * from "./chain-services.js";
export * from "./identity/identity.js";
export * from "./intkey/intkey.js";
export * from "./settings/govchain-settings.js";
export * from "./settings/settings.js";
export * from "./trace/index.js";

/** The families every govchain node runs. */
export function builtinFamilies(): TransactionFamily[] {
  return [settingsFamily, identityFamily, intkeyFamily, traceFamily];
}
