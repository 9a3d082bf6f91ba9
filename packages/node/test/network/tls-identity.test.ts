/**
 * The hand-written certificate must be one that OpenSSL parses and verifies, whatever the date
 * (UTCTime before 2050, GeneralizedTime after), and each run's certificate must be new.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/common/clock.js";
import { createSeededRandom, systemRandom } from "../../src/common/random.js";
import { createTlsIdentity } from "../../src/network/tls-identity.js";

const clockAt = (ms: number): Clock => ({ ...systemClock, now: () => ms });

describe("TLS identity", () => {
  it("is a self-signed Ed25519 certificate that OpenSSL parses and verifies", () => {
    const identity = createTlsIdentity({ clock: systemClock, random: systemRandom });
    const certificate = new X509Certificate(Buffer.from(identity.certificateDer));
    expect(certificate.subject).toBe("CN=govchain-node");
    expect(certificate.issuer).toBe("CN=govchain-node");
    expect(certificate.publicKey.asymmetricKeyType).toBe("ed25519");
    expect(certificate.verify(identity.publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(identity.keyPem))).toBe(true);
    expect(new X509Certificate(identity.certificatePem).raw.equals(certificate.raw)).toBe(true);
    expect(Date.parse(certificate.validFrom)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(certificate.validTo)).toBeGreaterThan(Date.now() + 9 * 365 * 86_400_000);
  });

  it("encodes validity dates on both sides of 2050", () => {
    for (const year of [2026, 2049, 2050, 2100]) {
      const at = Date.UTC(year, 5, 1, 12, 0, 0);
      const identity = createTlsIdentity({
        clock: clockAt(at),
        random: createSeededRandom(year),
        validityDays: 1,
      });
      const certificate = new X509Certificate(Buffer.from(identity.certificateDer));
      expect(Date.parse(certificate.validFrom)).toBe(at - 3_600_000);
      expect(Date.parse(certificate.validTo)).toBe(at - 3_600_000 + 86_400_000);
      expect(certificate.verify(identity.publicKey)).toBe(true);
    }
  });

  it("makes a new key and serial every time", () => {
    const a = new X509Certificate(
      Buffer.from(createTlsIdentity({ clock: systemClock, random: systemRandom }).certificateDer),
    );
    const b = new X509Certificate(
      Buffer.from(createTlsIdentity({ clock: systemClock, random: systemRandom }).certificateDer),
    );
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.fingerprint256).not.toBe(b.fingerprint256);
    expect(a.serialNumber).toMatch(/^[4-7]/); // positive, no leading zero byte
  });
});
