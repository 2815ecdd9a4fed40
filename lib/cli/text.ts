// Turning stored bytes into text for a terminal: exact where it can be, never ambiguous.

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

export function encodeText(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** The bytes as a string if they are valid UTF-8, else null. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

export function toBase64(bytes: Uint8Array): string {
  // btoa takes a "binary string"; build it in slices so a large value does not blow the stack.
  let binary = "";
  const sliceBytes = 0x8000;
  for (let i = 0; i < bytes.length; i += sliceBytes) {
    binary += String.fromCharCode(...bytes.subarray(i, i + sliceBytes));
  }
  return btoa(binary);
}

/** Bytes → the API's JSON form: `value` when valid UTF-8, else `valueBase64` (API.md §3). */
export function valueFields(bytes: Uint8Array): { value: string } | { valueBase64: string } {
  const text = decodeUtf8(bytes);
  return text === null ? { valueBase64: toBase64(bytes) } : { value: text };
}

// Anything that could break the one-line-per-item layout, or be mistaken for our own
// notations, is shown JSON-quoted instead.
// deno-lint-ignore no-control-regex -- control characters are exactly what it looks for
const NEEDS_QUOTES = /[\x00-\x1f\x7f\u2028\u2029]|^"|^base64:|^\s|\s$/;

/** A key or text value as one line: as is when plain, JSON-quoted otherwise. */
export function displayText(text: string): string {
  return NEEDS_QUOTES.test(text) ? JSON.stringify(text) : text;
}

/** A value from the API (text or base64) as one line; binary shows as `base64:…`. */
export function displayValue(v: { value?: string; valueBase64?: string }): string {
  if (v.value !== undefined) return displayText(v.value);
  if (v.valueBase64 !== undefined) return `base64:${v.valueBase64}`;
  return "";
}
