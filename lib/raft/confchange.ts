// Membership changes, one server at a time (dissertation §4.1). A configuration takes effect
// as soon as its entry is in a server's log, committed or not.

import { assertNever } from "./assert.ts";
import type { ConfChange, ConfigState, NodeId } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(change: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(change));
}

/** A config entry: the change plus the full configuration after it. Carrying the whole
 * configuration means a server that never saw the bootstrap membership (a new member that
 * replays the log from index 1) still learns every member from the entry. */
export function encodeConfigEntry(change: ConfChange, after: ConfigState): Uint8Array {
  return encoder.encode(JSON.stringify({ ...change, config: after }));
}

/** The configuration a config entry establishes, if it carries one. */
export function decodeConfigAfter(data: Uint8Array): ConfigState | null {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  const c = (value as { config?: unknown } | null)?.config as Record<string, unknown> | undefined;
  if (typeof c !== "object" || c === null) return null;
  const ids = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((x) => typeof x === "string");
  if (!ids(c.voters) || !ids(c.learners)) return null;
  const contexts = c.contexts;
  if (contexts !== undefined) {
    if (typeof contexts !== "object" || contexts === null) return null;
    if (!Object.values(contexts).every((x) => typeof x === "string")) return null;
  }
  return {
    voters: c.voters,
    learners: c.learners,
    ...(contexts ? { contexts: contexts as Record<string, string> } : {}),
  };
}

/** Decodes a config entry's data; null if it is not a well-formed ConfChange. */
export function decodeConfChange(data: Uint8Array): ConfChange | null {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== "string" || v.id.length === 0) return null;
  switch (v.type) {
    case "addLearner":
      return typeof v.context === "string"
        ? { type: "addLearner", id: v.id, context: v.context }
        : null;
    case "promote":
      return { type: "promote", id: v.id };
    case "remove":
      return { type: "remove", id: v.id };
    default:
      return null;
  }
}

export function isMember(config: ConfigState, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

/** Why `change` cannot be applied to `config`, or null if it can. */
export function checkConfChange(config: ConfigState, change: ConfChange): string | null {
  switch (change.type) {
    case "addLearner":
      return isMember(config, change.id) ? `${change.id} is already a member` : null;
    case "promote":
      return config.learners.includes(change.id) ? null : `${change.id} is not a learner`;
    case "remove":
      if (!isMember(config, change.id)) return `${change.id} is not a member`;
      if (config.voters.length === 1 && config.voters[0] === change.id) {
        return "cannot remove the last voter";
      }
      return null;
    default:
      return assertNever(change, "conf change");
  }
}

/** The configuration after `change`; an inapplicable change leaves it as it is, so every
 * server computes the same configuration from the same log. */
export function applyConfChange(config: ConfigState, change: ConfChange): ConfigState {
  if (checkConfChange(config, change) !== null) return config;
  const sorted = (ids: NodeId[]) => [...ids].sort();
  switch (change.type) {
    case "addLearner":
      return {
        voters: config.voters,
        learners: sorted([...config.learners, change.id]),
        contexts: { ...config.contexts, [change.id]: change.context },
      };
    case "promote":
      return {
        voters: sorted([...config.voters, change.id]),
        learners: config.learners.filter((id) => id !== change.id),
        ...(config.contexts ? { contexts: config.contexts } : {}),
      };
    case "remove": {
      const contexts = { ...config.contexts };
      delete contexts[change.id];
      return {
        voters: config.voters.filter((id) => id !== change.id),
        learners: config.learners.filter((id) => id !== change.id),
        ...(config.contexts ? { contexts } : {}),
      };
    }
    default:
      return assertNever(change, "conf change");
  }
}
