// Peer frames: binary MessagePack of a versioned envelope, validated with zod on the way in.
// decodeFrame never throws: whatever a peer sends, the answer is a typed ok or error.

import { Decoder, Encoder } from "@msgpack/msgpack";
import type { PeerMessage } from "./transport.ts";
import {
  buildSchemas,
  defaultSchemaLimits,
  type Frame,
  FRAME_VERSION,
  type SchemaLimits,
} from "./schema.ts";

export type { Frame, FrameKind, SnapshotRequest } from "./schema.ts";
export { FRAME_VERSION, MAC_BYTES, NONCE_BYTES } from "./schema.ts";

/** Default cap on one encoded frame (4 MiB). Snapshots travel in chunks well below it. */
export const frameBytesMax = 4 * 1024 * 1024;

export interface CodecLimits extends SchemaLimits {
  frameBytesMax: number;
}

export const defaultCodecLimits: CodecLimits = { ...defaultSchemaLimits, frameBytesMax };

export type DecodeResult = { type: "ok"; frame: Frame } | { type: "error"; reason: string };
export type EncodeResult = { type: "ok"; bytes: Uint8Array } | { type: "error"; reason: string };

/** A frame as the sender builds it (the version is added by the codec). */
export type OutFrame = DistributiveOmit<Frame, "v">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface Codec {
  readonly limits: CodecLimits;
  encodeFrame(frame: OutFrame): EncodeResult;
  decodeFrame(bytes: Uint8Array | ArrayBuffer): DecodeResult;
}

/** A codec with its own limits; `createCodec()` gives the defaults. */
export function createCodec(overrides: Partial<CodecLimits> = {}): Codec {
  const limits: CodecLimits = { ...defaultCodecLimits, ...overrides };
  const schemas = buildSchemas(limits);
  // Strings are ids, message tags and member contexts (addresses, ≤ 4096): the zod schema
  // bounds each field exactly; this only stops a pathological string early.
  const stringLengthMax = Math.max(4096, limits.idLengthMax);
  const decoder = new Decoder({
    maxStrLength: stringLengthMax,
    maxBinLength: limits.frameBytesMax,
    maxArrayLength: Math.max(limits.entriesPerFrameMax, limits.membersMax),
    maxMapLength: Math.max(16, limits.membersMax), // a config's contexts: one per member
    maxExtLength: 16,
  });
  const encoder = new Encoder();

  return {
    limits,
    encodeFrame(frame) {
      let bytes: Uint8Array;
      try {
        bytes = encoder.encode({ v: FRAME_VERSION, ...frame });
      } catch (e) {
        return { type: "error", reason: `encode failed: ${errorText(e)}` };
      }
      if (bytes.byteLength > limits.frameBytesMax) {
        return {
          type: "error",
          reason:
            `frame of ${bytes.byteLength} bytes exceeds frameBytesMax ${limits.frameBytesMax}`,
        };
      }
      return { type: "ok", bytes };
    },

    decodeFrame(input) {
      const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
      if (bytes.byteLength > limits.frameBytesMax) {
        return {
          type: "error",
          reason:
            `frame of ${bytes.byteLength} bytes exceeds frameBytesMax ${limits.frameBytesMax}`,
        };
      }
      let value: unknown;
      try {
        value = decoder.decode(bytes);
      } catch (e) {
        return { type: "error", reason: `not MessagePack: ${errorText(e)}` };
      }
      // Check the version first so a future peer gets a precise reason, not a shape error.
      if (!isRecord(value) || !("v" in value)) {
        return { type: "error", reason: "not a versioned envelope" };
      }
      if (value.v !== FRAME_VERSION) {
        return { type: "error", reason: `unsupported frame version ${String(value.v)}` };
      }
      const parsed = schemas.frame.safeParse(value);
      if (!parsed.success) {
        return { type: "error", reason: `invalid frame: ${issuesText(parsed.error.issues)}` };
      }
      return { type: "ok", frame: parsed.data };
    },
  };
}

const defaultCodec = createCodec();

/** Encode with the default limits. */
export function encodeFrame(frame: OutFrame): EncodeResult {
  return defaultCodec.encodeFrame(frame);
}

/** Decode and validate with the default limits. Never throws. */
export function decodeFrame(bytes: Uint8Array | ArrayBuffer): DecodeResult {
  return defaultCodec.decodeFrame(bytes);
}

/** One peer message in one frame. */
export function raftFrame(msg: PeerMessage): OutFrame {
  return { kind: "raft", msg };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** At most three issues, each "path: message", so a log line stays one short line. */
function issuesText(issues: { path: PropertyKey[]; message: string }[]): string {
  const shown = issues.slice(0, 3).map((i) =>
    `${i.path.map(String).join(".") || "(root)"}: ${i.message}`
  );
  const more = issues.length > 3 ? ` (+${issues.length - 3} more)` : "";
  return shown.join("; ") + more;
}
