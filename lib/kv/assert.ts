// Fail-stop helpers. A broken invariant in the state machine throws the core's InvariantError:
// continuing would let this replica's state drift from the others'.

import { InvariantError } from "../raft/mod.ts";

export { InvariantError };

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export function assertNever(value: never, what = "value"): never {
  throw new InvariantError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
