/**
 * Merkle state: the path-compressed radix tree over Sawtooth's 70-hex-digit addresses (ADR
 * 0003). `createStateTree` reads and updates it through a `KvStore`; `verifyStateProof`
 * checks an inclusion or exclusion proof with nothing but the proof and a trusted root; the
 * node codec is the documented, consensus-critical byte format both share.
 */
export { ADDRESS_HEX_LENGTH, assertAddress, assertAddressPrefix, isAddress } from "./address.js";
export { StateErrorCode, type StateErrorCodeName } from "./errors.js";
export { isStateHashName, STATE_HASH_NAMES, type StateHashName, stateHash } from "./hash.js";
export type * from "./interface.js";
export {
  type BranchNode,
  decodeNode,
  EMPTY_NODE_BYTES,
  type EmptyNode,
  type LeafNode,
  NodeKind,
  type Radix,
  type StateNode,
} from "./node-codec.js";
export { type ProofExpectation, verifyStateProof } from "./proof-verifier.js";
export { readVerifiedValues, type StateSyncInput, syncStateNodes } from "./state-sync.js";
export {
  createStateTree,
  type MerkleStateTree,
  type StateCacheOptions,
  type StateTreeOptions,
} from "./state-tree.js";
