// Fail-stop helpers: a broken invariant throws at once rather than corrupting state.

export class InvariantError extends Error {
  override name = "InvariantError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export function assertNever(value: never, what = "value"): never {
  throw new InvariantError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
