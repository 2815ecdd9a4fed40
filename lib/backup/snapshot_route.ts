// GET /v1/snapshot (API.md §3): a consistent backup of the state machine. A ReadIndex barrier
// first (linearizable: the backup holds every write acknowledged before the request), then the
// local state machine is serialized in one synchronous call, so the image is the state at
// exactly one applied index; `?consistency=serializable` skips the barrier (a backup from a
// node cut off from its quorum, e.g. for disaster recovery).

import type { Hono } from "hono";
import { problem, readTimedOut, unavailable } from "../api/problem.ts";
import type { Replica } from "../replica/replica.ts";
import { backupFileName, encodeBackup } from "./format.ts";

/** Bytes per chunk of the response body: the client pulls them at its own pace. */
export const BACKUP_CHUNK_BYTES = 256 * 1024;

export function registerBackupRoutes(app: Hono, replica: Replica): void {
  app.get("/v1/snapshot", async (c) => {
    const consistency = c.req.query("consistency") ?? "linearizable";
    if (consistency !== "linearizable" && consistency !== "serializable") {
      return problem(400, `consistency: expected linearizable or serializable, got ${consistency}`);
    }
    if (consistency === "linearizable") {
      const barrier = await replica.readBarrier();
      if (barrier.type === "unavailable") return unavailable(barrier.reason);
      if (barrier.type === "timeout") return readTimedOut();
    }
    // One synchronous stretch: the image and its indexes describe the same state.
    const sm = replica.sm;
    const image = sm.snapshot();
    const info = { appliedIndex: sm.appliedIndex, revision: sm.revision, createdAtMs: Date.now() };
    const file = await encodeBackup(image, info);
    return new Response(chunked(file), {
      status: 200,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(file.length),
        "content-disposition": `attachment; filename="${backupFileName(info.revision)}"`,
        "x-kv-revision": String(info.revision),
        "x-kv-applied-index": String(info.appliedIndex),
      },
    });
  });
}

/** The file as a pull stream of BACKUP_CHUNK_BYTES slices. */
function chunked(file: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= file.length) {
        controller.close();
        return;
      }
      const end = Math.min(offset + BACKUP_CHUNK_BYTES, file.length);
      controller.enqueue(file.subarray(offset, end));
      offset = end;
    },
  });
}
