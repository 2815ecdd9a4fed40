// Membership (dissertation §4.1, one server at a time) and leadership transfer (§3.10).
// Changes are made by the leader; any other node forwards the request to it over HTTP.

import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Replica } from "../replica/replica.ts";
import { encodeAddress } from "../replica/members.ts";
import { problem, timedOut, unavailable } from "./problem.ts";
import { issueDetail, readJsonBody } from "./route_support.ts";

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const str = z.string({
  error: (issue) => issue.input === undefined ? "required" : "expected a string",
});
const object = { error: "expected a JSON object" };

const addMemberBody = z.strictObject({
  id: str.regex(ID, "expected letters, digits, _ or - (at most 64)"),
  client: str.regex(/^http:\/\/[^/\s]+:[0-9]+\/?$/, "expected http://host:port"),
  peer: str.regex(/^ws:\/\/[^/\s]+:[0-9]+\/?$/, "expected ws://host:port"),
  text: str.regex(/^[^\s]+:[0-9]+$/, "expected host:port").nullable().optional(),
}, object);

const transferBody = z.strictObject({
  to: str.regex(ID, "expected a member id").optional(),
}, object);

const FORWARD_TIMEOUT_MS = 10_000;

export function registerMemberRoutes(app: Hono, replica: Replica): void {
  app.get("/v1/members", (c) => c.json({ members: membersBody(replica) }));

  app.post("/v1/members", async (c) => {
    const body = await parseBody(c, addMemberBody);
    if (body instanceof Response) return body;
    if (replica.node.role !== "leader") return await forwardToLeader(c, replica, body);
    const context = encodeAddress({
      client: body.client,
      peer: body.peer,
      text: body.text ?? null,
    });
    const outcome = await replica.changeMembership({ type: "addLearner", id: body.id, context });
    return changeResponse(c, replica, outcome);
  });

  app.delete("/v1/members/:id", async (c) => {
    const id = c.req.param("id");
    if (!ID.test(id)) return problem(400, "id: expected a member id");
    if (replica.node.role !== "leader") return await forwardToLeader(c, replica, null);
    const outcome = await replica.changeMembership({ type: "remove", id });
    return changeResponse(c, replica, outcome);
  });

  app.post("/v1/leader/transfer", async (c) => {
    const body = await parseBody(c, transferBody);
    if (body instanceof Response) return body;
    if (replica.node.role !== "leader") return await forwardToLeader(c, replica, body);
    const outcome = await replica.transferLeadership(body.to ?? null);
    switch (outcome.type) {
      case "ok":
        return c.json({ leader: outcome.leader, term: replica.status().term });
      case "unavailable":
        return problem(409, `to: ${outcome.reason}`);
      case "timeout":
        return timedOut();
    }
  });
}

function membersBody(replica: Replica) {
  const st = replica.status();
  return replica.members().map((m) => ({
    id: m.id,
    client: m.client,
    peer: m.peer,
    text: m.text,
    voter: m.voter,
    matchIndex: st.progress?.get(m.id)?.matchIndex ?? null,
  }));
}

function changeResponse(
  c: Context,
  replica: Replica,
  outcome: Awaited<ReturnType<Replica["changeMembership"]>>,
): Response {
  switch (outcome.type) {
    case "applied":
      return c.json({
        revision: outcome.result.type === "put" ? outcome.result.revision : null,
        members: membersBody(replica),
      });
    case "unavailable":
      // Conflicts: a change in progress, an unknown member, the leader not settled yet.
      return problem(409, outcome.reason);
    case "timeout":
      return timedOut();
  }
}

/** Membership and transfer bodies are a few short fields. */
const BODY_BYTES_MAX = 64 * 1024;

async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<T | Response> {
  const body = await readJsonBody(c.req.raw, BODY_BYTES_MAX, {});
  if (body instanceof Response) return body;
  const r = schema.safeParse(body.value);
  return r.success ? r.data : problem(400, issueDetail(r.error));
}

/** Sends the same request to the leader and relays its answer. */
async function forwardToLeader(c: Context, replica: Replica, body: unknown): Promise<Response> {
  const leader = replica.members().find((m) => m.id === replica.node.leader);
  if (!leader) return unavailable("no leader is known; retry shortly");
  const url = new URL(c.req.url);
  try {
    const res = await fetch(`${leader.client.replace(/\/$/, "")}${url.pathname}${url.search}`, {
      method: c.req.method,
      headers: { "content-type": "application/json" },
      body: body === null ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    return new Response(await res.arrayBuffer(), {
      status: res.status,
      headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
    });
  } catch (e) {
    return unavailable(`forwarding to the leader ${leader.id} failed: ${(e as Error).message}`);
  }
}
