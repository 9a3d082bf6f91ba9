/**
 * The consensus interface. An engine decides which candidate block is committed at each
 * height; it drives the chain controller (`Chain`: propose, validate, commit, abandon) and owns
 * nothing else. `devmode` (one node) implements it now; PBFT implements it as a pure state
 * machine wrapped by an adapter that supplies clock, transport and storage.
 */

/** What `/v1/status` shows of consensus. */
export interface ConsensusStatus {
  /** Engine name: `devmode`, `pbft`. */
  readonly engine: string;
  /** Current view (0 for engines without views). */
  readonly view: number;
  /** Id of the node that proposes in this view, if any. */
  readonly primary: string | undefined;
  /** Ids of the voting validators. */
  readonly validators: readonly string[];
}

/** A consensus engine. Start after genesis is committed; stop before the chain closes. */
export interface ConsensusEngine {
  readonly name: string;
  /** Starts deciding blocks; idempotent. */
  start(): Promise<void>;
  /** Stops after the block in progress (if any) is committed or abandoned; idempotent. */
  stop(): Promise<void>;
  status(): ConsensusStatus;
}
