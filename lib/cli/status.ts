// status: the node's view of the cluster as a small table.

import { z } from "zod";
import type { Command } from "./args.ts";
import type { Client } from "./client.ts";
import { EXIT, type Io, print } from "./io.ts";
import { expectOk, parseBody } from "./replies.ts";
import { decodeUtf8 } from "./text.ts";

const member = z.object({
  id: z.string(),
  client: z.string().nullable().optional(),
  voter: z.boolean().optional(),
  matchIndex: z.number().nullable().optional(),
  connected: z.boolean().nullable().optional(),
  lastContactMs: z.number().nullable().optional(),
});

const statusSchema = z.object({
  id: z.string(),
  role: z.string(),
  term: z.number(),
  leader: z.object({ id: z.string(), client: z.string().nullable().optional() }).nullable(),
  commitIndex: z.number(),
  appliedIndex: z.number(),
  lastLogIndex: z.number().optional(),
  snapshotIndex: z.number().optional(),
  revision: z.number().optional(),
  members: z.array(member),
});

export type Status = z.infer<typeof statusSchema>;

export async function status(
  io: Io,
  client: Client,
  c: Extract<Command, { type: "status" }>,
): Promise<number> {
  const { reply, code } = await expectOk(io, await client.request("/v1/status"));
  if (!reply) return code;
  const s = await parseBody(io, reply, statusSchema);
  if (!s) return EXIT.failed;
  await print(io.stdout, c.json ? `${decodeUtf8(reply.body)}\n` : formatStatus(s));
  return EXIT.ok;
}

export function formatStatus(s: Status): string {
  const leader = s.leader
    ? `${s.leader.id}${s.leader.client ? ` (${s.leader.client})` : ""}`
    : "none";
  const indexes = [
    `commit ${s.commitIndex}`,
    `applied ${s.appliedIndex}`,
    ...(s.lastLogIndex !== undefined ? [`last log ${s.lastLogIndex}`] : []),
    ...(s.snapshotIndex !== undefined ? [`snapshot ${s.snapshotIndex}`] : []),
    ...(s.revision !== undefined ? [`revision ${s.revision}`] : []),
  ];
  const rows = s.members.map((m) => [
    m.id === s.id ? `${m.id}*` : m.id,
    memberRole(s, m),
    m.voter === undefined ? "?" : m.voter ? "yes" : "no",
    m.matchIndex === null || m.matchIndex === undefined ? "-" : String(m.matchIndex),
    m.connected === null || m.connected === undefined ? "?" : m.connected ? "yes" : "no",
    m.lastContactMs === null || m.lastContactMs === undefined ? "-" : `${m.lastContactMs} ms`,
  ]);
  return [
    `node ${s.id} is ${s.role}, term ${s.term}, leader ${leader}`,
    indexes.join(", "),
    "",
    table([["ID", "ROLE", "VOTER", "MATCH", "CONNECTED", "LAST CONTACT"], ...rows]),
    `* the node that answered; MATCH and CONNECTED are its view`,
    "",
  ].join("\n");
}

/** Status names only the answering node's role; the others follow from leader and voter. */
function memberRole(s: Status, m: z.infer<typeof member>): string {
  if (m.id === s.id) return s.role;
  if (s.leader?.id === m.id) return "leader";
  if (m.voter === false) return "learner";
  return s.leader ? "follower" : "?";
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col])).join("  ").trimEnd())
    .join("\n");
}
