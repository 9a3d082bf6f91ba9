/**
 * Simulated signatures: HMAC-SHA256 with a per-validator secret derived from the seed. They
 * exercise exactly the authentication paths of real signatures (tampered bytes, wrong signer,
 * wrong domain) at a fraction of the cost, so thousands of scenarios fit in a test run.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { MessageAuthenticator } from "../../src/consensus/pbft/messages.js";

/** Secrets of a simulated validator set. */
export class SimKeys {
  private readonly secrets = new Map<string, Buffer>();
  private readonly hash: "sha256" | "sha512";

  /**
   * `signatureBytes` 64 makes signatures the size of Ed25519's (HMAC-SHA512), for benchmarks
   * that count the bytes on the wire; the default 32 (HMAC-SHA256) is cheaper.
   */
  constructor(
    private readonly seed: number,
    signatureBytes: 32 | 64 = 32,
  ) {
    this.hash = signatureBytes === 64 ? "sha512" : "sha256";
  }

  secret(id: string): Buffer {
    let secret = this.secrets.get(id);
    if (!secret) {
      secret = createHmac("sha256", `sim-key-${this.seed}`).update(id).digest();
      this.secrets.set(id, secret);
    }
    return secret;
  }

  /** The authenticator a node with identity `id` uses. */
  authenticator(id: string): MessageAuthenticator {
    const mine = this.secret(id);
    return {
      sign: (data) => new Uint8Array(createHmac(this.hash, mine).update(data).digest()),
      verify: (sender, data, signature) => {
        const expected = createHmac(this.hash, this.secret(sender)).update(data).digest();
        return signature.length === expected.length && timingSafeEqual(expected, signature);
      },
    };
  }
}
