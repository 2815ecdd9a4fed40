// The `kv` command-line client (`deno task kv ...`), runnable in-process for tests.

export { main } from "./cli.ts";
export type { Io, Writer } from "./io.ts";
export { EXIT } from "./io.ts";
export type { ClientOptions } from "./client.ts";
