import assert from "node:assert/strict";
import { encodeCommand, KvStateMachine } from "../kv/mod.ts";
import {
  BACKUP_DIGEST_BYTES,
  BACKUP_HEADER_BYTES,
  backupFileName,
  decodeBackup,
  encodeBackup,
} from "./format.ts";

function machine(keys: number): KvStateMachine {
  const sm = new KvStateMachine();
  const value = new TextEncoder().encode("value");
  for (let i = 1; i <= keys; i++) {
    sm.apply(
      i,
      encodeCommand({ type: "put", key: `k${i}`, value, time: 1000 + i, reqId: `r${i}` }),
    );
  }
  return sm;
}

async function sample(): Promise<{ file: Uint8Array; image: Uint8Array }> {
  const sm = machine(50);
  const image = sm.snapshot();
  const file = await encodeBackup(image, {
    appliedIndex: sm.appliedIndex,
    revision: sm.revision,
    createdAtMs: 1_700_000_000_000,
  });
  return { file, image };
}

async function reason(file: Uint8Array): Promise<string> {
  const decoded = await decodeBackup(file);
  assert.equal(decoded.type, "error");
  return decoded.type === "error" ? decoded.reason : "";
}

Deno.test("backup format: round trip keeps the indexes and the exact image", async () => {
  const { file, image } = await sample();
  assert.equal(file.length, BACKUP_HEADER_BYTES + image.length + BACKUP_DIGEST_BYTES);
  assert.equal(new TextDecoder().decode(file.subarray(0, 8)), "RAFTKVBK");
  const decoded = await decodeBackup(file);
  assert.equal(decoded.type, "ok");
  if (decoded.type !== "ok") return;
  assert.equal(decoded.backup.appliedIndex, 50);
  assert.equal(decoded.backup.revision, 50);
  assert.equal(decoded.backup.createdAtMs, 1_700_000_000_000);
  assert.deepEqual(decoded.backup.image, image);
  assert.match(decoded.backup.sha256, /^[0-9a-f]{64}$/);
  assert.equal(KvStateMachine.restore(decoded.backup.image).size, 50);
});

Deno.test("backup format: any flipped byte is refused by the checksum or the framing", async () => {
  const { file } = await sample();
  // Header fields, the image's first/middle/last byte, and the digest itself.
  const offsets = [16, 24, 33, 48, 48 + 100, file.length - 33, file.length - 1];
  for (const offset of offsets) {
    const bad = file.slice();
    bad[offset] ^= 0x40;
    assert.match(
      await reason(bad),
      /checksum|truncated|trailing|out of range|revision/,
      `@${offset}`,
    );
  }
});

Deno.test("backup format: foreign, truncated, extended and future files are named", async () => {
  const { file } = await sample();
  assert.match(await reason(new TextEncoder().encode("hello, world")), /bad magic/);
  assert.match(await reason(new Uint8Array(0)), /bad magic/);
  assert.match(await reason(file.subarray(0, 20)), /truncated/);
  assert.match(await reason(file.subarray(0, file.length - 1)), /truncated/);
  const longer = new Uint8Array(file.length + 3);
  longer.set(file);
  assert.match(await reason(longer), /trailing bytes/);
  const future = file.slice();
  new DataView(future.buffer).setUint32(8, 2);
  assert.match(await reason(future), /unsupported backup version 2/);
});

Deno.test("backup format: bad info is refused at encode; the file name carries the revision", async () => {
  await assert.rejects(
    () => encodeBackup(new Uint8Array(1), { appliedIndex: -1, revision: 0, createdAtMs: 0 }),
    RangeError,
  );
  assert.equal(backupFileName(42), "raftkv-42.snap");
});
