// Keys are JS strings inside the store but are ordered and measured as UTF-8 bytes, as the
// API promises. Comparing by code point gives exactly UTF-8 byte order without encoding.

/**
 * Orders two strings as their UTF-8 encodings would order byte by byte (= code point order).
 * JS `<` compares UTF-16 code units, which puts U+E000..U+FFFF after supplementary characters
 * (surrogate pairs, 0xD800..0xDFFF); the fix-up below moves surrogates above 0xFFFF.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Length of the UTF-8 encoding of a well-formed string, without encoding it. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      bytes += 4; // high surrogate: the pair is one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Why `key` cannot be stored, or null if it can. */
export function keyProblem(key: string, keyBytesMax: number): string | null {
  if (key.length === 0) return "key is empty";
  if (!key.isWellFormed()) return "key is not well-formed UTF-16 (lone surrogate)";
  const bytes = utf8Length(key);
  if (bytes > keyBytesMax) return `key of ${bytes} bytes exceeds ${keyBytesMax}`;
  return null;
}
