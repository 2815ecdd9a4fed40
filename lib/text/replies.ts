// The response lines of API.md §5, as byte parts ready to write. A reply is a list of parts so
// a value is written from the store's own bytes, never copied into a bigger buffer.

import type { HostPort } from "../config/mod.ts";

export type Reply = Uint8Array[];

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

function line(text: string): Reply {
  return [encoder.encode(`${text}\r\n`)];
}

export const ERR_VERSION: Reply = line("ERR_VERSION");
export const ERR_NOT_FOUND: Reply = line("ERR_NOT_FOUND");
export const ERR_CMD_ERR: Reply = line("ERR_CMD_ERR");
export const ERR_INTERNAL: Reply = line("ERR_INTERNAL");
export const DELETED: Reply = line("DELETED");

export function okReply(version: number): Reply {
  return line(`OK ${version}`);
}

/** Host and port apart, as CS733 clients expect (an IPv6 host is not bracketed). */
export function redirectReply(leader: HostPort): Reply {
  return line(`ERR_REDIRECT ${leader.hostname} ${leader.port}`);
}

/** `get`: VALUE <numbytes>. */
export function valueReply(value: Uint8Array): Reply {
  return [encoder.encode(`VALUE ${value.byteLength}\r\n`), value, CRLF];
}

/** `getm`: VALUE <version> <exptime> <numbytes>, exptime in whole seconds left (0 = never). */
export function valueMetaReply(version: number, exptime: number, value: Uint8Array): Reply {
  return [encoder.encode(`VALUE ${version} ${exptime} ${value.byteLength}\r\n`), value, CRLF];
}

export function replyBytes(reply: Reply): number {
  let n = 0;
  for (const part of reply) n += part.byteLength;
  return n;
}
