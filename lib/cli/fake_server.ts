// Test double of a raftkv node's HTTP API (API.md §3): enough of get/put/del, listing,
// watch (SSE) and status to drive the CLI in-process. Not a model of Raft.

export interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
}

interface Entry {
  value: Uint8Array;
  revision: number;
  version: number;
  expiresAt: string | null;
}

export interface WatchEvent {
  type: "put" | "delete" | "expire";
  key: string;
  value?: string;
  valueBase64?: string;
  revision: number;
  version?: number;
}

export interface FakeOptions {
  /** Items per listing page at most, whatever the client asks (to force paging). */
  pageItemsMax?: number;
  /** Events served by /v1/watch (filtered by prefix, fromRevision and Last-Event-ID). */
  watchEvents?: WatchEvent[];
  /** The first watch connection hangs up after this many events. */
  watchDropAfter?: number;
  /** Answers every request this way instead (e.g. a proxy's plain-text 500). */
  override?: (req: Request) => Response | null;
}

export interface FakeServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

const STATUS = {
  id: "n2",
  role: "follower",
  term: 7,
  leader: { id: "n1", client: "http://127.0.0.1:7001" },
  commitIndex: 42,
  appliedIndex: 41,
  lastLogIndex: 43,
  snapshotIndex: 0,
  revision: 40,
  members: [
    {
      id: "n1",
      client: "http://127.0.0.1:7001",
      voter: true,
      matchIndex: null,
      connected: true,
      lastContactMs: 12,
    },
    {
      id: "n2",
      client: "http://127.0.0.1:7002",
      voter: true,
      matchIndex: 43,
      connected: true,
      lastContactMs: 0,
    },
    {
      id: "n3",
      client: "http://127.0.0.1:7003",
      voter: false,
      matchIndex: null,
      connected: false,
      lastContactMs: null,
    },
  ],
};

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}) {
  const body = { type: `https://raftkv.dev/problems/x`, title: "Error", status, detail, ...extra };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json" },
  });
}

export function startFakeServer(o: FakeOptions = {}): FakeServer {
  const store = new Map<string, Entry>();
  const requests: Recorded[] = [];
  let revision = 0;
  let watchConnections = 0;

  function handle(req: Request): Response | Promise<Response> {
    const url = new URL(req.url);
    requests.push({ method: req.method, url, headers: req.headers });
    const override = o.override?.(req);
    if (override) return override;
    if (url.pathname.startsWith("/v1/kv/")) {
      const key = decodeURIComponent(url.pathname.slice("/v1/kv/".length));
      if (req.method === "PUT") return put(key, req, url);
      if (req.method === "DELETE") return del(key, req);
      return get(key);
    }
    if (url.pathname === "/v1/kv") return listing(url);
    if (url.pathname === "/v1/watch") return watch(req, url);
    if (url.pathname === "/v1/status") return Response.json(STATUS);
    return problem(404, `no route for ${req.method} ${url.pathname}`);

    async function put(key: string, req: Request, url: URL): Promise<Response> {
      const value = new Uint8Array(await req.arrayBuffer());
      const old = store.get(key);
      const failed = preconditionFailed(req, old);
      if (failed) return failed;
      const ttl = url.searchParams.get("ttl");
      const entry = {
        value,
        revision: ++revision,
        version: (old?.version ?? 0) + 1,
        expiresAt: ttl ? new Date(Date.UTC(2030, 0, 1) + Number(ttl) * 1000).toISOString() : null,
      };
      store.set(key, entry);
      return Response.json({ revision: entry.revision, version: entry.version });
    }

    function del(key: string, req: Request): Response {
      const old = store.get(key);
      if (!old) return problem(404, `key ${JSON.stringify(key)} not found`);
      const failed = preconditionFailed(req, old);
      if (failed) return failed;
      store.delete(key);
      return Response.json({ revision: ++revision });
    }

    function get(key: string): Response {
      const e = store.get(key);
      if (!e) return problem(404, `key ${JSON.stringify(key)} not found`);
      const headers: Record<string, string> = {
        "content-type": "application/octet-stream",
        etag: `"${e.revision}"`,
        "x-kv-version": String(e.version),
        "x-kv-revision": String(revision),
      };
      if (e.expiresAt) headers["x-kv-expires-at"] = e.expiresAt;
      return new Response(e.value.slice(), { headers });
    }
  }

  function preconditionFailed(req: Request, old: Entry | undefined): Response | null {
    const ifMatch = req.headers.get("if-match");
    if (ifMatch !== null && ifMatch !== `"${old?.revision}"`) {
      return problem(412, "If-Match: the key's current revision differs (or the key is absent)", {
        currentRevision: old?.revision ?? null,
      });
    }
    if (req.headers.get("if-none-match") === "*" && old) {
      return problem(412, "If-None-Match: the key already exists", {
        currentRevision: old.revision,
      });
    }
    return null;
  }

  function listing(url: URL): Response {
    const prefix = url.searchParams.get("prefix") ?? "";
    const after = url.searchParams.get("after");
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 1000), o.pageItemsMax ?? 1000);
    const keysOnly = url.searchParams.get("keysOnly") === "true";
    const keys = [...store.keys()].filter((k) =>
      k.startsWith(prefix) && (after === null || k > after)
    )
      .sort();
    const items = keys.slice(0, limit).map((key) => {
      const e = store.get(key)!;
      const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      let value: Record<string, string> = {};
      if (!keysOnly) {
        try {
          value = { value: text.decode(e.value) };
        } catch {
          value = { valueBase64: btoa(String.fromCharCode(...e.value)) };
        }
      }
      return { key, ...value, revision: e.revision, version: e.version, expiresAt: e.expiresAt };
    });
    const next = keys.length > limit ? items[items.length - 1].key : null;
    return Response.json({ items, next, revision });
  }

  function watch(req: Request, url: URL): Response {
    const prefix = url.searchParams.get("prefix") ?? "";
    const from = Number(url.searchParams.get("fromRevision") ?? 0);
    const lastId = req.headers.get("last-event-id");
    const events = (o.watchEvents ?? []).filter((e) =>
      e.key.startsWith(prefix) && e.revision >= from &&
      (lastId === null || e.revision > Number(lastId))
    );
    const drop = ++watchConnections === 1 ? o.watchDropAfter : undefined;
    const sent = drop === undefined ? events : events.slice(0, drop);
    const text = ": hello\n\n" +
      sent.map((e) => `id: ${e.revision}\r\nevent: ${e.type}\r\ndata: ${JSON.stringify(e)}\r\n\r\n`)
        .join("");
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        // Hang up to simulate a lost connection, or stay open like a live watch (Deno
        // cancels the stream when the client goes away).
        if (drop !== undefined) controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

/** A loopback port with nothing listening on it. */
export function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}
