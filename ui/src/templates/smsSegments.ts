/**
 * How many SMS segments a text costs, as the server counts it (domain/sms_segments.py): GSM-7 (160 / 153 per part)
 * or UCS-2 (70 / 67 per part).
 *
 * GSM 03.38: a character of the basic table costs one septet, one of the extension table (`^ { } \ [ ~ ] | €`) two,
 * since each is sent as ESC + character. Anything else (emoji, most accented letters, Cyrillic…) switches the whole
 * message to UCS-2, counted in UTF-16 code units. A multi-part message loses room to its concatenation header, and a
 * part never splits an ESC pair or a surrogate pair.
 */

export const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
export const GSM7_EXTENDED = "^{}\\[~]|€\f";

const BASIC = new Set(GSM7_BASIC);
const EXTENDED = new Set(GSM7_EXTENDED);

export type SmsEncoding = "GSM-7" | "UCS-2";

export const SINGLE: Record<SmsEncoding, number> = { "GSM-7": 160, "UCS-2": 70 };
export const MULTI: Record<SmsEncoding, number> = { "GSM-7": 153, "UCS-2": 67 };

export type SmsCount = {
  encoding: SmsEncoding;
  /** As the person typing sees them (code points). */
  characters: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  segments: number;
  /** Room in each part for this length (160/153 or 70/67). */
  perSegment: number;
  /** Units left in the last part. */
  remaining: number;
  /** The characters that forced UCS-2, once each, in order of appearance. */
  nonGsm: string[];
};

export function countSms(text: string): SmsCount {
  const chars = Array.from(text);
  if (chars.every((ch) => BASIC.has(ch) || EXTENDED.has(ch))) {
    return count("GSM-7", chars, chars.map((ch) => (EXTENDED.has(ch) ? 2 : 1)), []);
  }
  const sizes = chars.map((ch) => ((ch.codePointAt(0) ?? 0) > 0xffff ? 2 : 1));
  const offenders = [...new Set(chars.filter((ch) => !BASIC.has(ch) && !EXTENDED.has(ch)))];
  return count("UCS-2", chars, sizes, offenders);
}

function count(encoding: SmsEncoding, chars: string[], sizes: number[], nonGsm: string[]): SmsCount {
  const units = sizes.reduce((sum, size) => sum + size, 0);
  if (units <= SINGLE[encoding]) {
    const room = SINGLE[encoding];
    return { encoding, characters: chars.length, units, segments: chars.length ? 1 : 0, perSegment: room, remaining: room - units, nonGsm };
  }
  const room = MULTI[encoding];
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    // Greedy: a 2-unit character that does not fit starts the next part.
    if (used + size > room) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return { encoding, characters: chars.length, units, segments, perSegment: room, remaining: room - used, nonGsm };
}

/** "160 characters · GSM-7 · 1 segment (160 per segment)" */
export function smsSummary(sms: SmsCount): string {
  const chars = `${sms.characters} character${sms.characters === 1 ? "" : "s"}`;
  const parts = `${sms.segments} segment${sms.segments === 1 ? "" : "s"}`;
  return `${chars} · ${sms.encoding} · ${parts} (${sms.perSegment} per segment)`;
}
