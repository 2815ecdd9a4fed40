// The dashboard page: one self-contained HTML document (inline CSS and script, no fonts,
// images or CDN), readable in light and dark mode.

import { clientScript } from "./client.ts";

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --text: #1d2430; --muted: #667085; --line: #e3e6ec;
  --ok: #14804a; --warn: #b45309; --bad: #c0262d; --accent: #2f5bd3;
  --leader: #d9f2e3; --follower: #e4eaf9; --candidate: #fdefd6; --learner: #efe5fb; --down: #fbe1e2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151b; --panel: #1b2029; --text: #e6e9ef; --muted: #98a2b3; --line: #2c3340;
    --ok: #4cc38a; --warn: #f0a54a; --bad: #f07178; --accent: #7aa2f7;
    --leader: #1f3b2c; --follower: #232d44; --candidate: #3d3220; --learner: #33264a; --down: #43232a;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
header {
  display: flex; align-items: baseline; gap: 16px; padding: 14px 24px;
  border-bottom: 1px solid var(--line); background: var(--panel);
}
header h1 { margin: 0; font-size: 18px; letter-spacing: .02em; }
header .muted { font-size: 13px; }
main { padding: 20px 24px; max-width: 1280px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; }
.card {
  background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px;
}
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .06em; }
.big { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; }
section { margin-top: 22px; }
h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; overflow: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 7px 12px; text-align: left; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: none; }
tr.down td { background: color-mix(in srgb, var(--down) 45%, transparent); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id { font-weight: 650; }
td.key, td.value { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre; }
td.value { max-width: 420px; overflow: hidden; text-overflow: ellipsis; }
.role, .op, .pill, .tag {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
}
.tag { margin-left: 8px; color: var(--muted); border: 1px solid var(--line); font-weight: 500; }
.role.leader { background: var(--leader); color: var(--ok); }
.role.follower { background: var(--follower); color: var(--accent); }
.role.candidate { background: var(--candidate); color: var(--warn); }
.role.learner { background: var(--learner); }
.role.unreachable { background: var(--down); color: var(--bad); }
.op.put { background: var(--leader); color: var(--ok); }
.op.delete, .op.expire { background: var(--down); color: var(--bad); }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.muted, .time { color: var(--muted); }
.time { font-variant-numeric: tabular-nums; margin-right: 10px; }
.cols { display: grid; grid-template-columns: minmax(260px, 1fr) 2.2fr; gap: 16px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
ol { list-style: none; margin: 0; padding: 6px 14px; }
ol li { padding: 5px 0; border-bottom: 1px solid var(--line); }
ol li:last-child { border-bottom: none; }
.pill { border: 1px solid var(--line); margin-left: 8px; text-transform: none; letter-spacing: 0; }
.note { margin: 0 0 8px; color: var(--warn); }
.pill.live { color: var(--ok); } .pill.unavailable { color: var(--bad); } .pill.connecting { color: var(--warn); }
`;

const BODY = `
<header>
  <h1>raftkv</h1>
  <span class="muted" id="served"></span>
  <span class="muted" id="updated">loading…</span>
</header>
<main>
  <div class="cards">
    <div class="card"><div class="label">Leader</div><div id="leader" class="big" data-leader="">…</div>
      <div class="muted" id="leader-term"></div></div>
    <div class="card"><div class="label">Commit index (leader)</div><div id="commit" class="big">—</div></div>
    <div class="card"><div class="label">Members answering</div><div id="reachable" class="big">—</div></div>
    <div class="card"><div class="label">Writes seen</div><div id="writes" class="big">0</div></div>
  </div>
  <section>
    <h2>Members</h2>
    <div class="panel"><table>
      <thead><tr>
        <th>Member</th><th>Role</th><th class="num">Term</th><th class="num">Commit</th>
        <th class="num">Applied</th><th class="num">Last log</th>
        <th class="num" title="The leader's matchIndex (and how far behind its last index)">Match</th>
        <th title="The peer link as the leader sees it">Link</th>
        <th class="num" title="Since the leader last heard from it">Last contact</th>
        <th class="num" title="This page's poll of the member's /v1/status">Poll</th>
      </tr></thead>
      <tbody id="members"></tbody>
    </table></div>
  </section>
  <div class="cols">
    <section>
      <h2>Leader changes</h2>
      <div class="panel"><ol id="changes"><li class="muted">none seen yet</li></ol></div>
    </section>
    <section>
      <h2>Live writes <span id="watch-state" class="pill connecting" data-state="connecting">connecting…</span></h2>
      <p id="watch-note" class="note" hidden></p>
      <div class="panel"><table>
        <thead><tr><th>Time</th><th>Op</th><th>Key</th><th>Value</th>
          <th class="num">Revision</th><th class="num">Version</th></tr></thead>
        <tbody id="feed"><tr id="feed-empty"><td colspan="6" class="muted">no writes yet</td></tr></tbody>
      </table></div>
    </section>
  </div>
</main>
`;

/** Nothing but this document's own inline style and script may load; fetch and
 * EventSource may reach other members (their client URLs). */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src *; " +
  "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>raftkv dashboard</title>
<style>${STYLE}</style>
</head>
<body>${BODY}
<script>${clientScript()}</script>
</body>
</html>
`;
}
