// Watch events: every apply reports the changes it made, in order. A txn's events, and the
// `expire` events a write reaps before its own, share the entry's revision.

export type KvEvent =
  | {
    type: "put";
    key: string;
    /** The stored bytes: shared with the store, treat as read-only. */
    value: Uint8Array;
    revision: number;
    version: number;
  }
  /** `version` is 0 for delete and expire, as etcd reports a deleted key's version. */
  | { type: "delete"; key: string; revision: number; version: 0 }
  | { type: "expire"; key: string; revision: number; version: 0 };

export type KvEventType = KvEvent["type"];
