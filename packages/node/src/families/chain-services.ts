/**
 * The chain services of the execution SDK, implemented over the identity and settings
 * families' state: who a key is, what a setting says, and whether a signer may use a family.
 */
import type { ChainServices } from "../execution/chain-services.js";
import type { SignerIdentity } from "../execution/family.js";
import { agentAddress, decodeAgentRecord, toSignerIdentity } from "./identity/identity.js";
import {
  DEFAULT_FAMILY_POLICY,
  familyPolicyKey,
  parseFamilyPolicy,
} from "./settings/govchain-settings.js";
import { SETTINGS_FAMILY, settingAddress, settingValue } from "./settings/settings.js";

/** Creates the chain services used by the executor and admission. */
export function createChainServices(): ChainServices {
  const services: ChainServices = {
    async identityOf(publicKey, read): Promise<SignerIdentity | undefined> {
      const address = agentAddress(publicKey);
      const bytes = (await read([address])).get(address);
      return bytes ? toSignerIdentity(decodeAgentRecord(bytes)) : undefined;
    },

    async getSetting(key, read) {
      const address = settingAddress(key);
      return settingValue((await read([address])).get(address), key);
    },

    async authorize(familyName, signerPublicKey, read) {
      // The settings family checks its voters itself (authorized_keys); a policy on it could
      // lock the administrators out of ever changing a policy again.
      if (familyName === SETTINGS_FAMILY) return undefined;
      const value = await services.getSetting(familyPolicyKey(familyName), read);
      const policy =
        value === undefined
          ? DEFAULT_FAMILY_POLICY
          : (parseFamilyPolicy(value) ?? DEFAULT_FAMILY_POLICY);
      if (policy.kind === "any") return undefined;
      const identity = await services.identityOf(signerPublicKey, read);
      if (!identity) return "the key is not a registered agent";
      if (!identity.active) return "the agent is disabled";
      if (policy.kind === "registered") return undefined;
      if (policy.roles.some((role) => identity.roles.includes(role))) return undefined;
      return `the agent needs one of the roles ${policy.roles.join(", ")}`;
    },
  };
  return services;
}
