// What the dashboard makes of the /v1/status answers it polls: who leads, one row per member,
// the leader changes it saw, and which URLs to poll next. Plain data in, plain data out, so
// it is unit-tested here and runs in the browser too: page.ts inlines `dashboardModel`'s
// source, so the function must stay self-contained (no references outside its own body).

/** The /v1/status body (API.md §3), as far as the page reads it. */
export interface NodeStatus {
  id: string;
  role: string;
  term: number;
  leader: { id: string; client: string } | null;
  commitIndex: number;
  appliedIndex: number;
  lastLogIndex: number;
  members: MemberStatus[];
}

export interface MemberStatus {
  id: string;
  client: string | null;
  voter: boolean;
  matchIndex: number | null;
  connected: boolean | null;
  lastContactMs: number | null;
}

/** One poll of one node: its status, or why there is none. */
export interface Poll {
  id: string | null;
  url: string;
  status: NodeStatus | null;
  error: string | null;
  latencyMs: number | null;
}

export interface LeaderChange {
  atMs: number;
  /** null: the page saw no leader. */
  leader: string | null;
  term: number;
}

/** What the page keeps between polls. */
export interface DashState {
  /** The id of the node that served the page, once known. */
  originId: string | null;
  /** Member id → status URL to poll (the origin's own is the relative "/v1/status"). */
  targets: Record<string, string>;
  leader: { id: string; term: number } | null;
  /** Newest first, at most CHANGES_MAX. */
  changes: LeaderChange[];
}

export interface Row {
  id: string;
  reachable: boolean;
  error: string | null;
  role: string;
  term: number | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  lastLogIndex: number | null;
  voter: boolean | null;
  /** The leader's matchIndex for this member, and how far behind its last index. */
  matchIndex: number | null;
  matchLag: number | null;
  /** Link state as the leader (or, without one, the origin) sees it. */
  connected: boolean | null;
  lastContactMs: number | null;
  latencyMs: number | null;
  isLeader: boolean;
  isOrigin: boolean;
}

export interface View {
  leader: { id: string; term: number; client: string | null } | null;
  rows: Row[];
  changes: LeaderChange[];
  reachable: number;
  commitIndex: number | null;
}

/** Where the live feed is in the change stream (/v1/watch). */
export interface FeedPosition {
  /** The newest revision the feed showed, or null: the next stream starts live. */
  lastRev: number | null;
}

export interface DashboardModel {
  newState(): DashState;
  fold(state: DashState, polls: Poll[], nowMs: number): View;
  retarget(state: DashState, polls: Poll[]): void;
  watchQuery(feed: FeedPosition): string;
  isGone(errorData: string): boolean;
  restartLive(feed: FeedPosition, node: string): string;
}

/** Returns the model's functions; self-contained so that its source runs in the page. */
export function dashboardModel(): DashboardModel {
  const CHANGES_MAX = 20;
  const TARGETS_MAX = 64;

  function newState(): DashState {
    return { originId: null, targets: {}, leader: null, changes: [] };
  }

  /** The leader: of the nodes that say they lead, the one with the highest term (an old
   * leader cut off from the rest may still believe it leads, in an older term). */
  function pickLeader(statuses: NodeStatus[]): NodeStatus | null {
    let best: NodeStatus | null = null;
    for (const s of statuses) {
      if (s.role === "leader" && (best === null || s.term > best.term)) best = s;
    }
    return best;
  }

  function noteLeader(state: DashState, leader: NodeStatus | null, nowMs: number): void {
    const before = state.leader;
    const same = leader === null
      ? before === null
      : before !== null && before.id === leader.id && before.term === leader.term;
    // The page's first sight of no leader is not a change worth listing.
    if (same || (leader === null && state.changes.length === 0)) return;
    state.leader = leader === null ? null : { id: leader.id, term: leader.term };
    const change = {
      atMs: nowMs,
      leader: leader === null ? null : leader.id,
      term: leader === null ? (before === null ? 0 : before.term) : leader.term,
    };
    state.changes = [change, ...state.changes].slice(0, CHANGES_MAX);
  }

  function fold(state: DashState, polls: Poll[], nowMs: number): View {
    const statuses: NodeStatus[] = [];
    for (const p of polls) if (p.status !== null) statuses.push(p.status);
    const leader = pickLeader(statuses);
    noteLeader(state, leader, nowMs);
    const origin = statuses.find((s) => s.id === state.originId) ?? null;
    // Per-peer facts (matchIndex, link, contact) from the leader's view, else the origin's.
    const viewer = leader ?? origin ?? statuses[0] ?? null;
    const ids: string[] = [];
    const add = (id: string | null) => {
      if (id !== null && !ids.includes(id)) ids.push(id);
    };
    for (const m of viewer === null ? [] : viewer.members) add(m.id);
    for (const p of polls) add(p.id ?? (p.status === null ? null : p.status.id));
    ids.sort();
    const rows = ids.map((id) => row(id, polls, viewer, leader, state.originId));
    const leaderClient = leader === null
      ? null
      : (leader.members.find((m) => m.id === leader.id) ?? { client: null }).client;
    return {
      leader: leader === null ? null : { id: leader.id, term: leader.term, client: leaderClient },
      rows,
      changes: state.changes,
      reachable: statuses.length,
      commitIndex: leader === null ? null : leader.commitIndex,
    };
  }

  function row(
    id: string,
    polls: Poll[],
    viewer: NodeStatus | null,
    leader: NodeStatus | null,
    originId: string | null,
  ): Row {
    const poll = polls.find((p) => (p.id ?? (p.status === null ? null : p.status.id)) === id);
    const s = poll === undefined ? null : poll.status;
    const seen = viewer === null ? undefined : viewer.members.find((m) => m.id === id);
    const self = viewer !== null && viewer.id === id;
    const match = leader === null || seen === undefined ? null : seen.matchIndex;
    return {
      id,
      reachable: s !== null,
      error: poll === undefined ? "not polled" : poll.error,
      role: s === null ? "unreachable" : s.role,
      term: s === null ? null : s.term,
      commitIndex: s === null ? null : s.commitIndex,
      appliedIndex: s === null ? null : s.appliedIndex,
      lastLogIndex: s === null ? null : s.lastLogIndex,
      voter: seen === undefined ? null : seen.voter,
      matchIndex: match,
      matchLag: match === null || leader === null ? null : leader.lastLogIndex - match,
      connected: self ? true : seen === undefined ? null : seen.connected,
      lastContactMs: self ? 0 : seen === undefined ? null : seen.lastContactMs,
      latencyMs: poll === undefined ? null : poll.latencyMs,
      isLeader: leader !== null && leader.id === id,
      isOrigin: originId === id,
    };
  }

  /** Next round's targets: every member any reachable node lists (the origin by its
   * relative URL, so it needs no CORS). With no answer at all, keep the old targets. */
  function retarget(state: DashState, polls: Poll[]): void {
    const statuses: NodeStatus[] = [];
    for (const p of polls) if (p.status !== null) statuses.push(p.status);
    if (state.originId === null) {
      const origin = polls.find((p) => p.url === "/v1/status" && p.status !== null);
      if (origin !== undefined && origin.status !== null) state.originId = origin.status.id;
    }
    if (statuses.length === 0) return;
    const targets: Record<string, string> = {};
    let count = 0;
    for (const s of statuses) {
      for (const m of s.members) {
        if (count >= TARGETS_MAX || m.id in targets) continue;
        if (m.id === state.originId) targets[m.id] = "/v1/status";
        else if (m.client !== null) targets[m.id] = m.client.replace(/\/+$/, "") + "/v1/status";
        else continue;
        count++;
      }
    }
    if (state.originId !== null && !(state.originId in targets)) {
      targets[state.originId] = "/v1/status";
    }
    state.targets = targets;
  }

  /** The query of the feed's next /v1/watch request: right after what it showed, or live. */
  function watchQuery(feed: FeedPosition): string {
    return feed.lastRev === null ? "" : "?fromRevision=" + (feed.lastRev + 1);
  }

  /** Whether an `error` event of the watch stream (its data: {"status", "reason", ...}) says
   * the history the stream needs is gone (410): resuming can never work then. */
  function isGone(errorData: string): boolean {
    try {
      const data = JSON.parse(errorData) as { status?: unknown };
      return data !== null && data.status === 410;
    } catch {
      return false;
    }
  }

  /** After a 410: the feed starts again live (from now on) and the returned note tells the
   * reader that writes after `lastRev` were missed. */
  function restartLive(feed: FeedPosition, node: string): string {
    const after = feed.lastRev === null ? "" : " after revision " + feed.lastRev;
    feed.lastRev = null;
    return "Some writes" + after + " are not shown: " + node +
      " no longer keeps that part of its history, so the feed restarted live.";
  }

  return { newState, fold, retarget, watchQuery, isGone, restartLive };
}
