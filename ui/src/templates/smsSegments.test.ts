import { describe, expect, it } from "vitest";
import { countSms, smsSummary } from "./smsSegments";

describe("countSms", () => {
  it.each([
    ["", "GSM-7", 0, 0, 160],
    ["a".repeat(160), "GSM-7", 160, 1, 160],
    ["a".repeat(161), "GSM-7", 161, 2, 153],
    ["a".repeat(306), "GSM-7", 306, 2, 153],
    ["a".repeat(307), "GSM-7", 307, 3, 153],
    ["é".repeat(160), "GSM-7", 160, 1, 160], // é is in the basic table
    ["ê".repeat(70), "UCS-2", 70, 1, 70], // ê is not: the whole message is UCS-2
    ["ê".repeat(71), "UCS-2", 71, 2, 67],
    ["ê".repeat(134), "UCS-2", 134, 2, 67],
    ["ê".repeat(135), "UCS-2", 135, 3, 67],
    ["😀".repeat(35), "UCS-2", 70, 1, 70], // an emoji is two UTF-16 units
    ["😀".repeat(36), "UCS-2", 72, 2, 67],
  ])("%#: %s chars → %s, %i units, %i segments of %i", (text, encoding, units, segments, perSegment) => {
    const sms = countSms(text);
    expect([sms.encoding, sms.units, sms.segments, sms.perSegment]).toEqual([encoding, units, segments, perSegment]);
  });

  it.each(["€", "[", "]", "{", "}", "^", "~", "|", "\\"])("the extension character %s counts two septets", (ch) => {
    expect(countSms(ch).units).toBe(2);
    expect(countSms(ch).characters).toBe(1);
    expect(countSms(ch.repeat(80))).toMatchObject({ encoding: "GSM-7", units: 160, segments: 1 });
    expect(countSms(ch.repeat(81))).toMatchObject({ encoding: "GSM-7", units: 162, segments: 2 });
  });

  it("never splits an escape pair across parts", () => {
    const sms = countSms("a".repeat(152) + "€" + "a".repeat(10));
    expect(sms.units).toBe(164);
    expect(sms.segments).toBe(2);
    expect(sms.remaining).toBe(153 - 12);
  });

  it("never splits a surrogate pair across parts", () => {
    expect(countSms("a".repeat(66) + "😀")).toMatchObject({ encoding: "UCS-2", units: 68, segments: 1 });
    expect(countSms("ê".repeat(66) + "😀" + "ê")).toMatchObject({ units: 69, segments: 1 });
    expect(countSms("ê".repeat(66) + "😀" + "ê".repeat(5))).toMatchObject({ segments: 2, remaining: 67 - 7 });
  });

  it("names the characters that force UCS-2 and counts code points", () => {
    const text = "Hello Zoë, 50% off 😀 today ê";
    const sms = countSms(text);
    expect(sms.encoding).toBe("UCS-2");
    expect(sms.nonGsm).toEqual(["ë", "😀", "ê"]);
    expect(sms.characters).toBe(Array.from(text).length);
  });

  it("summarises for the counter", () => {
    expect(smsSummary(countSms("a".repeat(161)))).toBe("161 characters · GSM-7 · 2 segments (153 per segment)");
    expect(smsSummary(countSms("ê"))).toBe("1 character · UCS-2 · 1 segment (70 per segment)");
  });
});
