import assert from "node:assert/strict";
import { displayText, displayValue, toBase64, valueFields } from "./text.ts";

Deno.test("display: plain text as is; anything that could break a line or mislead, quoted", () => {
  assert.equal(displayText("hello world/ü"), "hello world/ü");
  assert.equal(displayText(""), "");
  for (const s of ["a\nb", "tab\there", " lead", "trail ", '"quoted"', "base64:AA==", "\u2028"]) {
    assert.equal(displayText(s), JSON.stringify(s));
  }
  assert.equal(displayValue({ valueBase64: "/wA=" }), "base64:/wA=");
  assert.equal(displayValue({ value: "x" }), "x");
});

Deno.test("value fields: text when valid UTF-8, base64 otherwise (also for big values)", () => {
  assert.deepEqual(valueFields(new TextEncoder().encode("héllo")), { value: "héllo" });
  assert.deepEqual(valueFields(new Uint8Array([0xc3])), { valueBase64: "ww==" });
  const big = new Uint8Array(200_000).map((_, i) => i % 256);
  assert.equal(toBase64(big), btoa(Array.from(big, (b) => String.fromCharCode(b)).join("")));
});
