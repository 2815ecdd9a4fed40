// The backup file (`GET /v1/snapshot`, `deno task restore --from FILE`): a fixed header, the
// state-machine image exactly as snapshots carry it (lib/kv/snapshot.ts), and a SHA-256 of
// everything before it, so a truncated, corrupted or foreign file is refused before anything
// is written. All integers are big-endian.
//
//   offset  bytes  field
//        0      8  magic "RAFTKVBK"
//        8      4  version (1)
//       12      4  header bytes (48): where the image starts
//       16      8  appliedIndex: the log index the image reflects
//       24      8  revision: the store's revision at that index
//       32      8  createdAtMs: wall clock of the node that took it (information only)
//       40      8  imageBytes
//       48      n  image (MessagePack, KvStateMachine.snapshot())
//     48+n     32  SHA-256 of bytes [0, 48+n)

export const BACKUP_MAGIC = "RAFTKVBK";
export const BACKUP_VERSION = 1;
export const BACKUP_HEADER_BYTES = 48;
export const BACKUP_DIGEST_BYTES = 32;
/** Larger files are refused unread: an image this big would not fit a node's memory anyway. */
export const BACKUP_BYTES_MAX = 2 ** 31;

export interface BackupInfo {
  appliedIndex: number;
  revision: number;
  createdAtMs: number;
}

export interface Backup extends BackupInfo {
  /** A view into the file's bytes. */
  image: Uint8Array;
  /** Lowercase hex SHA-256 of the file's content before the digest. */
  sha256: string;
}

export type DecodeBackupResult =
  | { type: "ok"; backup: Backup }
  | { type: "error"; reason: string };

const magicBytes = new TextEncoder().encode(BACKUP_MAGIC);

/** The whole file for `image`, taken at `info.appliedIndex`. */
export async function encodeBackup(image: Uint8Array, info: BackupInfo): Promise<Uint8Array> {
  for (const [name, n] of Object.entries(info)) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`backup ${name}: ${n}`);
  }
  const file = new Uint8Array(BACKUP_HEADER_BYTES + image.length + BACKUP_DIGEST_BYTES);
  const view = new DataView(file.buffer);
  file.set(magicBytes, 0);
  view.setUint32(8, BACKUP_VERSION);
  view.setUint32(12, BACKUP_HEADER_BYTES);
  view.setBigUint64(16, BigInt(info.appliedIndex));
  view.setBigUint64(24, BigInt(info.revision));
  view.setBigUint64(32, BigInt(info.createdAtMs));
  view.setBigUint64(40, BigInt(image.length));
  file.set(image, BACKUP_HEADER_BYTES);
  const body = file.subarray(0, BACKUP_HEADER_BYTES + image.length);
  file.set(await sha256(body), body.length);
  return file;
}

/** Checks the framing and the digest; the image itself is checked by whoever decodes it. */
export async function decodeBackup(file: Uint8Array): Promise<DecodeBackupResult> {
  if (file.length < magicBytes.length || !startsWithMagic(file)) {
    return fail("not a raftkv backup (bad magic)");
  }
  if (file.length < BACKUP_HEADER_BYTES + BACKUP_DIGEST_BYTES) {
    return fail(`truncated: ${file.length} bytes is shorter than a header and digest`);
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(8);
  if (version !== BACKUP_VERSION) {
    return fail(`unsupported backup version ${version} (this build reads ${BACKUP_VERSION})`);
  }
  const headerBytes = view.getUint32(12);
  if (headerBytes !== BACKUP_HEADER_BYTES) return fail(`bad header length ${headerBytes}`);
  const fields = [16, 24, 32, 40].map((offset) => view.getBigUint64(offset));
  if (fields.some((n) => n > BigInt(Number.MAX_SAFE_INTEGER))) {
    return fail("a header field is out of range");
  }
  const [appliedIndex, revision, createdAtMs, imageBytes] = fields.map(Number);
  const expected = BACKUP_HEADER_BYTES + imageBytes + BACKUP_DIGEST_BYTES;
  if (file.length !== expected) {
    const what = file.length < expected ? "truncated" : "trailing bytes";
    return fail(`${what}: ${file.length} bytes, the header says ${expected}`);
  }
  const body = file.subarray(0, BACKUP_HEADER_BYTES + imageBytes);
  const digest = await sha256(body);
  if (!equalBytes(digest, file.subarray(body.length))) {
    return fail("checksum mismatch (SHA-256): the file is corrupt");
  }
  if (revision > appliedIndex) return fail("revision beyond appliedIndex");
  return {
    type: "ok",
    backup: {
      appliedIndex,
      revision,
      createdAtMs,
      image: file.subarray(BACKUP_HEADER_BYTES, body.length),
      sha256: toHex(digest),
    },
  };
}

/** The file name a download suggests: `raftkv-<revision>.snap`. */
export function backupFileName(revision: number): string {
  return `raftkv-${revision}.snap`;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  // Our buffers are never shared; the cast only narrows ArrayBufferLike for WebCrypto's type.
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

function startsWithMagic(file: Uint8Array): boolean {
  return equalBytes(file.subarray(0, magicBytes.length), magicBytes);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fail(reason: string): DecodeBackupResult {
  return { type: "error", reason };
}
