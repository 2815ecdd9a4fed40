// Raft's safety properties (Figure 3 of the paper), checked after every simulated step:
// Election Safety, Log Matching, Leader Completeness, State Machine Safety. Plus the client's
// view: a read reflects every write acknowledged before the read began.

import type { Entry, NodeId } from "../../lib/raft/mod.ts";
import type { SimNode } from "./sim_node.ts";

const decoder = new TextDecoder();

function identity(e: Entry): string {
  return `${e.term}|${e.type}|${decoder.decode(e.data)}`;
}

export interface WriteRecord {
  key: string;
  value: string;
  /** Revision at which it took effect, once known. */
  revision: number;
  /** Step at which the client saw it acknowledged (Infinity if never). */
  ackedAt: number;
}

export class Checker {
  readonly violations: string[] = [];
  private leaderOfTerm = new Map<number, NodeId>();
  /** Committed entries by index, as (term|type|data). */
  private committed = new Map<number, string>();
  private maxCommitted = 0;
  private appliedAt = new Map<number, string>();
  /** (index,term) → the term of the entry before it, for Log Matching. */
  private prevTermOf = new Map<string, { prev: number | undefined; id: string }>();
  private lastChecked = new Map<NodeId, number>();
  private wasLeader = new Map<NodeId, boolean>();
  private checkedCommit = new Map<NodeId, number>();

  fail(step: number, what: string): void {
    if (this.violations.length < 20) this.violations.push(`step ${step}: ${what}`);
  }

  /** Everything about the logs, after each step. */
  checkNodes(step: number, nodes: SimNode[]): void {
    for (const node of nodes) {
      const raft = node.raft;
      if (!raft) {
        this.wasLeader.set(node.id, false);
        this.lastChecked.delete(node.id);
        this.checkedCommit.delete(node.id);
        continue;
      }
      const st = raft.status();
      // Election Safety: at most one leader per term.
      if (st.role === "leader") {
        const other = this.leaderOfTerm.get(st.term);
        if (other !== undefined && other !== node.id) {
          this.fail(step, `Election Safety: ${other} and ${node.id} both lead term ${st.term}`);
        }
        this.leaderOfTerm.set(st.term, node.id);
      }
      // State Machine Safety on the log: a committed index never holds two different entries.
      const fromCommit = Math.max(this.checkedCommit.get(node.id) ?? 0, st.snapshotIndex) + 1;
      for (let i = fromCommit; i <= st.commitIndex; i++) {
        const e = raft.entryAt(i);
        if (!e) continue;
        const id = identity(e);
        const seen = this.committed.get(i);
        if (seen === undefined) this.committed.set(i, id);
        else if (seen !== id) {
          this.fail(step, `committed entry ${i} differs on ${node.id}: ${id} vs ${seen}`);
        }
      }
      this.checkedCommit.set(node.id, st.commitIndex);
      this.maxCommitted = Math.max(this.maxCommitted, st.commitIndex);
      // Leader Completeness: a new leader holds every committed entry.
      if (st.role === "leader" && !this.wasLeader.get(node.id)) {
        this.checkLeaderCompleteness(step, node, st.snapshotIndex, st.lastIndex, st.term);
      }
      this.wasLeader.set(node.id, st.role === "leader");
      this.checkLogMatching(step, node, st.snapshotIndex, st.commitIndex, st.lastIndex);
    }
  }

  private checkLeaderCompleteness(
    step: number,
    node: SimNode,
    snapshotIndex: number,
    lastIndex: number,
    term: number,
  ): void {
    const raft = node.raft!;
    for (let i = snapshotIndex + 1; i <= this.maxCommitted; i++) {
      const want = this.committed.get(i);
      const e = i <= lastIndex ? raft.entryAt(i) : undefined;
      if (want !== undefined && (!e || identity(e) !== want)) {
        this.fail(step, `Leader Completeness: leader ${node.id} of term ${term} lacks entry ${i}`);
        return;
      }
    }
  }

  /** Log Matching: the same (index, term) always has the same entry and the same predecessor
   * term, which by induction makes logs identical up to any shared (index, term). */
  private checkLogMatching(
    step: number,
    node: SimNode,
    snapshotIndex: number,
    commitIndex: number,
    lastIndex: number,
  ): void {
    const raft = node.raft!;
    // Entries up to commitIndex never change, so only the tail needs re-checking.
    const from = Math.max(
      snapshotIndex + 1,
      Math.min((this.lastChecked.get(node.id) ?? 0) + 1, commitIndex + 1),
    );
    for (let i = from; i <= lastIndex; i++) {
      const e = raft.entryAt(i)!;
      const key = `${i}/${e.term}`;
      const prev = raft.termAt(i - 1);
      const id = identity(e);
      const seen = this.prevTermOf.get(key);
      if (!seen) {
        this.prevTermOf.set(key, { prev, id });
      } else if (
        seen.id !== id || (prev !== undefined && seen.prev !== undefined && seen.prev !== prev)
      ) {
        this.fail(step, `Log Matching: ${node.id} entry ${key} differs from another log's`);
      } else if (seen.prev === undefined) {
        seen.prev = prev;
      }
    }
    this.lastChecked.set(node.id, lastIndex);
  }

  /** State Machine Safety: every server applies the same entry at each index. */
  onApplied(step: number, node: SimNode, e: Entry): void {
    const id = identity(e);
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) this.appliedAt.set(e.index, id);
    else if (seen !== id) {
      this.fail(
        step,
        `State Machine Safety: ${node.id} applied ${id} at ${e.index}, others ${seen}`,
      );
    }
  }

  /** A read that began at `startedAt` saw `seen` (revision of the value, 0 if absent). */
  checkRead(
    step: number,
    key: string,
    startedAt: number,
    seenRevision: number,
    writes: readonly WriteRecord[],
  ): void {
    let mustSee = 0;
    for (const w of writes) {
      if (w.key === key && w.ackedAt < startedAt && w.revision > mustSee) mustSee = w.revision;
    }
    if (seenRevision < mustSee) {
      this.fail(
        step,
        `stale read of ${key}: saw revision ${seenRevision}, but ${mustSee} was acknowledged before the read began`,
      );
    }
    if (seenRevision > 0 && !this.appliedAt.has(seenRevision)) {
      this.fail(step, `read of ${key} saw revision ${seenRevision}, which was never applied`);
    }
  }
}
