// The shared contract, run against both implementations.

import { storageContract } from "./contract_test.ts";
import { KvStorage } from "./kv_storage.ts";
import { MemoryStorage } from "./memory_storage.ts";

storageContract("MemoryStorage", () => {
  // The object is the "disk": reopening hands back the same one.
  const storage = new MemoryStorage();
  return Promise.resolve({
    open: () => Promise.resolve(storage),
    cleanup: () => Promise.resolve(),
  });
});

storageContract("KvStorage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_storage_" });
  return {
    open: () => KvStorage.open(`${dir}/node/raft.kv`),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});
