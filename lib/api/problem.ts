// RFC 9457 problem details: every error the API returns has this shape.

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

const SLUGS: Record<number, string> = {
  400: "bad-request",
  404: "not-found",
  405: "method-not-allowed",
  409: "conflict",
  412: "precondition-failed",
  413: "too-large",
  500: "internal",
  503: "unavailable",
  504: "timeout",
};

export function problem(
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body: Problem = {
    type: `https://raftkv.dev/problems/${SLUGS[status] ?? "error"}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...extra,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

/** 503 with Retry-After: no leader, overloaded, or stopping. */
export function unavailable(detail: string): Response {
  return problem(503, detail, {}, { "retry-after": "1" });
}

/** 504: the proposal's fate is unknown. */
export function timedOut(): Response {
  return problem(
    504,
    "the write was not confirmed in time; it may or may not have been applied (send an Idempotency-Key to retry safely)",
  );
}

/** 504 for a read: the ReadIndex round with the leader did not finish in time. */
export function readTimedOut(): Response {
  return problem(
    504,
    "the read could not be confirmed with the leader in time (ReadIndex); retry, or read with ?consistency=serializable",
  );
}

/** 504 for `?minRevision=R` (or a pinned `revision`) this replica has not reached in time. */
export function notAppliedInTime(field: string, revision: number, applied: number): Response {
  return problem(
    504,
    `${field}: this node had not applied revision ${revision} in time (it is at ${applied}); retry, or ask another node`,
  );
}
