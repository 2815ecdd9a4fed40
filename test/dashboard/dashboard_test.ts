// The dashboard in a real browser against a real 3-node cluster. The page is opened on the
// leader; the leader is killed -9; the page must show the new leader without a reload (it
// keeps polling the other members, through CORS, after its own node died). A screenshot is
// saved and its path printed. Needs /usr/bin/chromium (see browser.ts).

import assert from "node:assert/strict";
import { type Cluster, withCluster } from "../cluster/harness.ts";
import { putResult } from "../cluster/kv_client.ts";
import { type Page, screenshot, withPage } from "./browser.ts";

/** The page polls every 500 ms; a failover takes 250–500 ms of election timeout here. */
const PAGE_WAIT_MS = 10_000;

/** Whether the node serves /v1/watch yet (the page must cope either way). */
async function watchServed(client: string): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 2000);
  try {
    const res = await fetch(`${client}/v1/watch`, { signal: abort.signal });
    await res.body?.cancel();
    return res.status === 200;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("dashboard: shows the leader, then the new one after the leader is killed -9", async () => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    const { leader } = await cluster.waitForLeader();
    await withPage((page) => failover(cluster, page, leader));
  });
});

async function failover(cluster: Cluster, page: Page, leader: string): Promise<void> {
  const leaderUrl = cluster.spec(leader).client;
  const hasWatch = await watchServed(leaderUrl);
  await page.goto(`${leaderUrl}/`);

  // The leader, and a row per member with its role, all from live polls.
  await page.waitForSelector(`#leader[data-leader="${leader}"]`, { timeout: PAGE_WAIT_MS });
  await page.waitForSelector(`#members tr[data-id="${leader}"][data-role="leader"]`);
  for (const id of cluster.ids.filter((id) => id !== leader)) {
    await page.waitForSelector(`#members tr[data-id="${id}"][data-role="follower"]`);
  }
  assert.equal(await page.locator("#members tr").count(), 3);

  // A write shows in the live feed, or the page says the watch is unavailable.
  putResult(await cluster.client(leader).put("dashboard-key", "hello from the test"));
  const feedWait = hasWatch
    ? `#feed tr[data-key="dashboard-key"]`
    : `#watch-state[data-state="unavailable"]`;
  await page.waitForSelector(feedWait, { timeout: PAGE_WAIT_MS });

  // Kill the node that served the page; the page must find the new leader by itself.
  await cluster.kill(leader, "SIGKILL");
  const { leader: next } = await cluster.waitForLeader(PAGE_WAIT_MS);
  assert.notEqual(next, leader);
  await page.waitForSelector(`#leader[data-leader="${next}"]`, { timeout: PAGE_WAIT_MS });
  await page.waitForSelector(`#members tr[data-id="${leader}"][data-role="unreachable"]`, {
    timeout: PAGE_WAIT_MS,
  });
  await page.waitForSelector(`#members tr[data-id="${next}"][data-role="leader"]`);
  await page.waitForSelector(`#changes li[data-leader="${next}"]`);
  assert.equal(await page.locator("#changes li").first().getAttribute("data-leader"), next);
  assert.ok(await page.locator(`#changes li[data-leader="${leader}"]`).count() >= 1);

  if (hasWatch) {
    // The feed moves to a live member and goes on.
    putResult(await cluster.client(next).put("after-failover", "still live"));
    await page.waitForSelector(`#feed tr[data-key="after-failover"]`, { timeout: PAGE_WAIT_MS });
  }
  const path = await screenshot(page, "dashboard");
  assert.ok((await Deno.stat(path)).size > 10_000, "a screenshot with something on it");
}
