// The page's script, as text (it runs in the browser, not in Deno). It polls /v1/status on
// every member every POLL_MS (the origin same-origin, the others through CORS), folds the
// answers with the model from model.ts (inlined), renders with textContent only (keys and
// values are untrusted), and follows /v1/watch with an EventSource for the live feed.

import { dashboardModel } from "./model.ts";

export const POLL_MS = 500;

const SCRIPT = String.raw`
"use strict";
const POLL_MS = ${POLL_MS};
const FETCH_TIMEOUT_MS = 1000;
const FEED_MAX = 50;
const model = (__MODEL__)();
const state = model.newState();
const $ = (id) => document.getElementById(id);
let lastView = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function clock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

async function poll(id, url) {
  const t0 = performance.now();
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch(url, { signal: ctl.signal, cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const status = await res.json();
    return { id, url, status, error: null, latencyMs: performance.now() - t0 };
  } catch (e) {
    const error = e && e.name === "AbortError" ? "timed out" : "unreachable";
    return { id, url, status: null, error, latencyMs: null };
  } finally {
    clearTimeout(timer);
  }
}

async function round() {
  try {
    const targets = Object.entries(state.targets);
    const polls = await Promise.all(
      targets.length > 0 ? targets.map(([id, url]) => poll(id, url)) : [poll(null, "/v1/status")],
    );
    model.retarget(state, polls);
    lastView = model.fold(state, polls, Date.now());
    render(lastView);
    // The feed starts once the first poll named this node.
    if (feed.started) watchdog();
    else {
      feed.started = true;
      connectWatch();
    }
  } catch (e) {
    console.error(e);
  } finally {
    setTimeout(round, POLL_MS);
  }
}

function render(view) {
  const leader = $("leader");
  leader.textContent = view.leader ? view.leader.id : "none";
  leader.dataset.leader = view.leader ? view.leader.id : "";
  leader.className = view.leader ? "big ok" : "big bad";
  $("leader-term").textContent = view.leader ? "term " + view.leader.term : "election in progress?";
  $("commit").textContent = view.commitIndex === null ? "—" : view.commitIndex;
  $("reachable").textContent = view.reachable + " / " + view.rows.length;
  $("reachable").className = "big " + (view.reachable === view.rows.length ? "ok" : "warn");
  $("served").textContent = state.originId ? "served by " + state.originId : "";
  $("updated").textContent = "updated " + clock(Date.now());
  renderRows(view.rows);
  renderChanges(view.changes);
}

function cell(tr, text, cls) {
  const td = el("td", cls, text === null || text === undefined ? "—" : text);
  tr.appendChild(td);
  return td;
}

function renderRows(rows) {
  const body = $("members");
  body.replaceChildren();
  for (const r of rows) {
    const tr = el("tr", r.reachable ? "" : "down");
    tr.dataset.id = r.id;
    tr.dataset.role = r.role;
    const name = cell(tr, r.id, "id");
    if (r.isOrigin) name.appendChild(el("span", "tag", "this page"));
    if (r.voter === false) name.appendChild(el("span", "tag", "learner"));
    cell(tr, null).replaceChildren(el("span", "role " + r.role, r.role));
    cell(tr, r.term, "num");
    cell(tr, r.commitIndex, "num");
    cell(tr, r.appliedIndex, "num");
    cell(tr, r.lastLogIndex, "num");
    const match = r.matchIndex === null ? null : r.matchIndex + (r.matchLag ? " (−" + r.matchLag + ")" : "");
    cell(tr, match, "num" + (r.matchLag ? " warn" : ""));
    const link = r.connected === null ? null : r.connected ? "connected" : "disconnected";
    cell(tr, link, r.connected === false ? "bad" : r.connected ? "ok" : "");
    cell(tr, r.lastContactMs === null ? null : Math.round(r.lastContactMs) + " ms", "num");
    cell(tr, r.reachable ? Math.round(r.latencyMs) + " ms" : r.error, r.reachable ? "num" : "bad");
    body.appendChild(tr);
  }
}

function renderChanges(changes) {
  const list = $("changes");
  list.replaceChildren();
  if (changes.length === 0) list.appendChild(el("li", "muted", "none seen yet"));
  for (const c of changes) {
    const li = el("li");
    li.dataset.leader = c.leader || "";
    li.appendChild(el("span", "time", clock(c.atMs)));
    li.appendChild(el("span", c.leader ? "ok" : "bad",
      c.leader ? c.leader + " leads (term " + c.term + ")" : "no leader (after term " + c.term + ")"));
    list.appendChild(li);
  }
}

// ---------------------------------------------------------------- live writes (/v1/watch)

const feed = {
  started: false, es: null, live: false, base: "", node: "", lastRev: null, count: 0, connectingSince: 0,
};

function watchState(kind, text) {
  const s = $("watch-state");
  s.className = "pill " + kind;
  s.textContent = text;
  s.dataset.state = kind;
}

/** The origin while it answers, else any reachable member. */
function watchBase() {
  const rows = lastView ? lastView.rows : [];
  const origin = rows.find((r) => r.isOrigin);
  if (!origin || origin.reachable) return { base: "", node: state.originId || "this node" };
  const other = rows.find((r) => r.reachable && state.targets[r.id]);
  if (!other) return { base: "", node: state.originId || "this node" };
  return { base: state.targets[other.id].replace(/\/v1\/status$/, ""), node: other.id };
}

function connectWatch() {
  const { base, node } = watchBase();
  const query = model.watchQuery(feed);
  let es;
  try {
    es = new EventSource(base + "/v1/watch" + query);
  } catch (e) {
    watchState("unavailable", "watch unavailable");
    setTimeout(connectWatch, 5000);
    return;
  }
  feed.es = es;
  feed.base = base;
  feed.node = node;
  feed.live = false;
  feed.connectingSince = Date.now();
  watchState("connecting", "connecting to " + node + "…");
  es.onopen = () => {
    feed.live = true;
    watchState("live", "live from " + node);
  };
  for (const type of ["put", "delete", "expire"]) es.addEventListener(type, onWatchEvent);
  es.onerror = (ev) => {
    if (feed.es !== es) return;
    if (typeof ev.data === "string") {
      // The server's own "error" event before it ends the stream. 410: the history this
      // stream needs is gone, so a resume (the browser's, with Last-Event-ID) cannot work.
      if (model.isGone(ev.data)) restartLive(es, node);
      return;
    }
    if (es.readyState === EventSource.CLOSED) {
      // Refused outright: a resume from a revision no longer kept (410), or e.g. a 404
      // before /v1/watch exists. An EventSource hides the status: ask with HEAD.
      es.close();
      feed.es = null;
      watchState("unavailable", "watch unavailable on " + node + " (retrying)");
      // Asked from where the feed is now: the browser's own resume (Last-Event-ID) went
      // on from the last event shown, not from where this stream began.
      refusedBecauseGone(base, model.watchQuery(feed)).then((gone) => {
        if (feed.es !== null) return;
        if (gone) restartLive(null, node);
        else setTimeout(connectWatch, 5000);
      });
    } else if (feed.live) {
      // Measured from the drop, not from each failed retry, so the watchdog can act.
      feed.live = false;
      feed.connectingSince = Date.now();
      watchState("connecting", "reconnecting to " + node + "…");
    }
  };
}

/** Whether /v1/watch refuses this start with 410 Gone (HEAD: no stream is opened). */
async function refusedBecauseGone(base, query) {
  try {
    const res = await fetch(base + "/v1/watch" + query, { method: "HEAD", cache: "no-store" });
    return res.status === 410;
  } catch {
    return false;
  }
}

/** Drops the feed's position and watches live from now on, saying what was missed. */
function restartLive(es, node) {
  if (es) es.close();
  feed.es = null;
  const note = $("watch-note");
  note.textContent = model.restartLive(feed, node);
  note.hidden = false;
  connectWatch();
}

/** The browser retries a dead origin forever: move the feed to a live node instead. */
function watchdog() {
  const es = feed.es;
  if (!es || es.readyState !== EventSource.CONNECTING) return;
  if (Date.now() - feed.connectingSince < 2000) return;
  if (watchBase().base === feed.base) return;
  es.close();
  feed.es = null;
  connectWatch();
}

function onWatchEvent(ev) {
  let d;
  try {
    d = JSON.parse(ev.data);
  } catch {
    return;
  }
  const rev = Number(d.revision);
  if (Number.isFinite(rev)) feed.lastRev = feed.lastRev === null ? rev : Math.max(feed.lastRev, rev);
  feed.count++;
  $("writes").textContent = feed.count;
  const value = typeof d.value === "string"
    ? d.value
    : typeof d.valueBase64 === "string" ? "(" + Math.floor(d.valueBase64.length * 3 / 4) + " bytes, binary)" : "";
  const tr = el("tr");
  tr.dataset.key = String(d.key);
  cell(tr, clock(Date.now()), "time");
  cell(tr, null).replaceChildren(el("span", "op " + String(d.type || ev.type), d.type || ev.type));
  cell(tr, d.key, "key");
  cell(tr, value.length > 120 ? value.slice(0, 120) + "…" : value, "value");
  cell(tr, d.revision, "num");
  cell(tr, d.version, "num");
  const body = $("feed");
  const empty = $("feed-empty");
  if (empty) empty.remove();
  body.insertBefore(tr, body.firstChild);
  while (body.children.length > FEED_MAX) body.lastChild.remove();
}

round();
`;

/** The script for the page, with the model's source inlined. */
export function clientScript(): string {
  // A function replacer: the source must not be read for `$&`-style patterns.
  return SCRIPT.replace("__MODEL__", () => dashboardModel.toString());
}
