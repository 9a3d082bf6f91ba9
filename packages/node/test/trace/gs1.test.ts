import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  buildDigitalLink,
  displayGtin,
  Gs1Error,
  gs1CheckDigit,
  gtinCompanyDigits,
  hasValidCheckDigit,
  isCompanyPrefix,
  isGln,
  isGtin,
  isLotNumber,
  parseCompanyPrefix,
  parseDigitalLink,
  parseGln,
  parseGtin,
  prefixAncestors,
  prefixCandidates,
} from "../../src/gs1/index.js";

interface Vectors {
  readonly gs1_check_digit: { readonly valid: string[]; readonly invalid: string[] };
  readonly gs1_digital_link: { readonly valid: string[]; readonly invalid: string[] };
}

const vectors = JSON.parse(
  readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), "../vectors/public-vectors.json"),
    "utf8",
  ),
) as Vectors;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof Gs1Error ? err.code : `not a Gs1Error: ${String(err)}`;
  }
}

describe("GS1 check digits (public vectors)", () => {
  it.each(vectors.gs1_check_digit.valid)("accepts %s", (code) => {
    expect(hasValidCheckDigit(code)).toBe(true);
    expect(gs1CheckDigit(code.slice(0, -1))).toBe(Number(code.at(-1)));
  });

  it.each(vectors.gs1_check_digit.invalid)("rejects %s", (code) => {
    expect(hasValidCheckDigit(code)).toBe(false);
  });

  it("is unchanged by left zero padding (GTIN-12 → GTIN-14)", () => {
    for (const code of vectors.gs1_check_digit.valid)
      expect(hasValidCheckDigit(code.padStart(14, "0"))).toBe(true);
  });
});

describe("GTIN", () => {
  it("normalises GTIN-8/12/13/14 to 14 digits", () => {
    expect(parseGtin("96385074")).toBe("00000096385074");
    expect(parseGtin("036000241457")).toBe("00036000241457");
    expect(parseGtin("9520123456788")).toBe("09520123456788");
    expect(parseGtin("10012345678902")).toBe("10012345678902");
    expect(displayGtin(parseGtin("09520123456788"))).toBe("9520123456788");
  });

  it("names the reason: format or check digit", () => {
    expect(codeOf(() => parseGtin("12345"))).toBe("INVALID_GTIN");
    expect(codeOf(() => parseGtin("95201234567a8"))).toBe("INVALID_GTIN");
    expect(codeOf(() => parseGtin("09520123456781"))).toBe("INVALID_CHECK_DIGIT");
    expect(() => parseGtin("09520123456781")).toThrow(/check digit 1, expected 8/);
    expect(isGtin("688955434684")).toBe(true);
    expect(isGtin("688955434584")).toBe(false);
  });

  it("exposes the company digits after the indicator digit", () => {
    expect(gtinCompanyDigits(parseGtin("036000241457"))).toBe("003600024145");
  });
});

describe("GLN and company prefixes", () => {
  it("checks GLN-13 with its check digit", () => {
    expect(parseGln("9012345000004")).toBe("9012345000004");
    expect(isGln("9012345000005")).toBe(false);
    expect(codeOf(() => parseGln("901234500000"))).toBe("INVALID_GLN");
    expect(codeOf(() => parseGln("9012345000005"))).toBe("INVALID_CHECK_DIGIT");
  });

  it("accepts 4-12 digit prefixes, full-length only in the GTIN-8 range", () => {
    expect(isCompanyPrefix("9520011")).toBe(true);
    expect(isCompanyPrefix("952")).toBe(false);
    expect(isCompanyPrefix("9520011000000")).toBe(false);
    expect(codeOf(() => parseCompanyPrefix("0000012"))).toBe("INVALID_COMPANY_PREFIX");
    expect(isCompanyPrefix("000009638507")).toBe(true);
  });

  it("lists candidate and ancestor prefixes", () => {
    expect(prefixCandidates("952001100001")).toEqual([
      "9520",
      "95200",
      "952001",
      "9520011",
      "95200110",
      "952001100",
      "9520011000",
      "95200110000",
      "952001100001",
    ]);
    expect(prefixAncestors("952001")).toEqual(["9520", "95200"]);
  });
});

describe("lot numbers", () => {
  it("allow 1-20 characters of GS1 character set 82", () => {
    expect(isLotNumber("ABC-123/x.y_z")).toBe(true);
    expect(isLotNumber("")).toBe(false);
    expect(isLotNumber("A".repeat(21))).toBe(false);
    expect(isLotNumber("lot#1")).toBe(false);
    expect(isLotNumber("lot 1")).toBe(false);
  });
});

describe("GS1 Digital Link (public vectors)", () => {
  it.each(vectors.gs1_digital_link.valid)("parses %s", (uri) => {
    const key = parseDigitalLink(uri);
    expect(key.gtin).toBe("09520123456788");
    expect(key.lot).toBe("ABC123");
    expect(key.serial).toBe("12345");
    expect(key.resolver).toBe("https://id.gs1.org");
  });

  it.each(vectors.gs1_digital_link.invalid)("rejects %s", (uri) => {
    expect(codeOf(() => parseDigitalLink(uri))).toMatch(/INVALID_DIGITAL_LINK|INVALID_CHECK_DIGIT/);
  });

  it("reads data attributes, resolver paths and percent-encoding", () => {
    const key = parseDigitalLink(
      "https://example.org/resolver/01/9520123456788/10/A%2FB%25?17=261231&linkType=all",
    );
    expect(key).toEqual({
      gtin: "09520123456788",
      lot: "A/B%",
      attributes: { "17": "261231" },
      resolver: "https://example.org/resolver",
    });
    expect(codeOf(() => parseDigitalLink("https://x.org/01/09520123456788/10/A?17=261331"))).toBe(
      "INVALID_DIGITAL_LINK",
    );
    expect(codeOf(() => parseDigitalLink("https://x.org/01/09520123456788/99/A"))).toBe(
      "INVALID_DIGITAL_LINK",
    );
    expect(codeOf(() => parseDigitalLink("ftp://x.org/01/09520123456788"))).toBe(
      "INVALID_DIGITAL_LINK",
    );
    expect(codeOf(() => parseDigitalLink("not a uri"))).toBe("INVALID_DIGITAL_LINK");
  });

  it("builds the lot's URI with a 14-digit GTIN, round-tripping through the parser", () => {
    const gtin = parseGtin("9520123456788");
    const uri = buildDigitalLink({ gtin, lot: "LOT/7" });
    expect(uri).toBe("https://id.govchain.example/01/09520123456788/10/LOT%2F7");
    expect(parseDigitalLink(uri)).toMatchObject({ gtin, lot: "LOT/7" });
    expect(buildDigitalLink({ gtin, lot: "A1" }, "resolver.example.org:8443/gs1")).toBe(
      "https://resolver.example.org:8443/gs1/01/09520123456788/10/A1",
    );
    expect(codeOf(() => buildDigitalLink({ gtin, lot: "A1" }, "bad host!"))).toBe(
      "INVALID_DIGITAL_LINK",
    );
  });
});
