// The nemesis: every fault of one seed. Random faults (crashes, reboots, partitions, heals) at
// a per-seed rate, and targeted strikes at the moments where Raft is most fragile: right after
// a leader is elected, right after it first commits, right after a server grants a vote or
// acknowledges an append. Each is a fault a real cluster can suffer; the nemesis watches only
// what an operator could see (roles, commit indexes, messages on the wire), never code paths.

import type { Message, NodeId } from "../../lib/raft/mod.ts";
import type { SimNetwork } from "./network.ts";
import type { Rng } from "../rng.ts";
import type { SimNode } from "./sim_node.ts";

/** One seed's appetite for faults. Chosen per seed, so that some seeds are gentle and others
 * hammer one weakness hard. */
export interface FaultProfile {
  /** "chaos": every knob random. "termStart": leaders struck right after election or right
   * after their first commit (the schedule of Figure 8 of the Raft paper). "durability":
   * servers struck right after they vote or acknowledge, leaders right after they commit. */
  kind: "chaos" | "termStart" | "durability";
  /** Chance per step of one random fault (crash, restart, partition, heal, reboot). */
  faultRate: number;
  /** Chance that a newly elected leader is struck down. */
  newLeaderCrash: number;
  /** Chance that a leader is struck down right after its first commit in its term. */
  firstCommitCrash: number;
  /** Chance that a leader is struck down right after any later commit. */
  commitCrash: number;
  /** Chance that a server reboots right after it grants a vote. */
  voteReboot: number;
  /** Chance that a server is struck down right after it acknowledges an append. */
  ackCrash: number;
  /** Chance that a crash also loses the messages the server sent that are still in flight
   * (its socket buffers die with it). */
  crashLosesSends: number;
  /** Chance that a strike at a leader cuts it off rather than crashing it. */
  strikeIsolates: number;
  /** A strike lands 0..strikeDelayMax steps after the moment it aims at. */
  strikeDelayMax: number;
  /** A struck server stays down this many steps: [min, max]. */
  downSteps: readonly [number, number];
}

export function chooseProfile(r: Rng): FaultProfile {
  const kind = r.pick(["chaos", "termStart", "durability"] as const);
  switch (kind) {
    case "chaos":
      return {
        kind,
        faultRate: r.pick([0.001, 0.003, 0.008, 0.03]),
        newLeaderCrash: r.pick([0, 0.3, 0.7, 1]),
        firstCommitCrash: r.pick([0, 0.3, 0.7, 1]),
        commitCrash: r.pick([0, 0.01, 0.05]),
        voteReboot: r.pick([0, 0.05, 0.3]),
        ackCrash: r.pick([0, 0.002, 0.01, 0.05]),
        crashLosesSends: r.pick([0, 0.5, 1]),
        strikeIsolates: r.pick([0, 0.5]),
        strikeDelayMax: r.pick([0, 3, 30]),
        downSteps: r.pick([[1, 50], [20, 300], [100, 1000]] as const),
      };
    case "termStart":
      // A leader often dies before its first entries leave it, or right after its first
      // commit, and stays down long enough for the others to elect someone else. (Crashes, not
      // isolation: measured, they open the Figure 8 window far more often.)
      return {
        kind,
        faultRate: r.pick([0, 0.001]),
        newLeaderCrash: r.pick([0.5, 0.7, 0.85]),
        firstCommitCrash: r.pick([0.7, 1]),
        commitCrash: 0,
        voteReboot: 0,
        ackCrash: 0,
        crashLosesSends: r.pick([0.7, 1]),
        strikeIsolates: 0,
        strikeDelayMax: r.pick([0, 0, 3]),
        downSteps: r.pick([[100, 500], [200, 700]] as const),
      };
    case "durability":
      // Strikes land inside the window of a disk write: whatever was acknowledged must have
      // been durable.
      return {
        kind,
        faultRate: r.pick([0.001, 0.003]),
        newLeaderCrash: r.pick([0, 0.3]),
        firstCommitCrash: r.pick([0, 0.3]),
        commitCrash: r.pick([0.05, 0.2]),
        voteReboot: r.pick([0.3, 1]),
        ackCrash: r.pick([0.01, 0.05, 0.1]),
        crashLosesSends: r.pick([0, 0.5, 1]),
        strikeIsolates: 0,
        strikeDelayMax: r.pick([0, 2]),
        downSteps: r.pick([[1, 50], [20, 300]] as const),
      };
  }
}

/** Steps a quick reboot keeps a server down. */
const REBOOT_STEPS_MAX = 5;

/** A struck server is either crashed (its unsynced writes lost) or cut off from every peer
 * (it keeps running, and whatever it had in flight is lost with the links). */
type StrikeMode = "crash" | "isolate";

interface Action {
  at: number;
  node: SimNode;
  type: "down" | "up";
  mode: StrikeMode;
  downSteps: readonly [number, number];
}

export class Nemesis {
  /** Off once faults heal. */
  active = true;
  private scheduled: Action[] = [];
  /** Leaders seen, by node: their term, last commitIndex seen, whether they committed yet. */
  private leading = new Map<NodeId, { term: number; commitIndex: number; committed: boolean }>();
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly isolated = new Set<NodeId>();

  constructor(
    private readonly rng: Rng,
    readonly profile: FaultProfile,
    private readonly nodes: SimNode[],
    private readonly net: SimNetwork,
  ) {
    for (const n of nodes) this.byId.set(n.id, n);
  }

  /** Runs before every step of the fault phase. */
  act(now: number): void {
    if (!this.active) return;
    this.randomFault();
    this.watchLeaders(now);
    this.runScheduled(now);
  }

  /** Sees every message a server sends: a vote or an ack is a moment worth striking at. */
  onSend(now: number, m: Message): void {
    if (!this.active) return;
    const p = this.profile;
    if (m.type === "voteResp" && m.granted) {
      this.strike(now, m.from, p.voteReboot, "crash", [0, REBOOT_STEPS_MAX]);
    } else if (m.type === "appendResp" && m.success) {
      this.strike(now, m.from, p.ackCrash, "crash", p.downSteps);
    }
  }

  private strike(
    now: number,
    id: NodeId,
    chance: number,
    mode: StrikeMode,
    downSteps: readonly [number, number],
  ): void {
    if (chance === 0 || !this.rng.chance(chance)) return;
    const at = now + this.rng.int(0, this.profile.strikeDelayMax);
    this.scheduled.push({ at, node: this.byId.get(id)!, type: "down", mode, downSteps });
  }

  private watchLeaders(now: number): void {
    const p = this.profile;
    for (const n of this.nodes) {
      if (n.raft?.role !== "leader") {
        this.leading.delete(n.id);
        continue;
      }
      const st = n.raft.status();
      const seen = this.leading.get(n.id);
      let chance = 0;
      if (!seen || seen.term !== st.term) {
        this.leading.set(n.id, { term: st.term, commitIndex: st.commitIndex, committed: false });
        chance = p.newLeaderCrash;
      } else if (st.commitIndex > seen.commitIndex) {
        seen.commitIndex = st.commitIndex;
        chance = seen.committed ? p.commitCrash : p.firstCommitCrash;
        seen.committed = true;
      }
      const mode = this.rng.chance(p.strikeIsolates) ? "isolate" : "crash";
      this.strike(now, n.id, chance, mode, p.downSteps);
    }
  }

  private runScheduled(now: number): void {
    if (this.scheduled.length === 0) return;
    const due = this.scheduled.filter((s) => s.at <= now);
    this.scheduled = this.scheduled.filter((s) => s.at > now);
    for (const s of due) {
      const n = s.node;
      if (s.type === "down" && n.up && !this.isolated.has(n.id)) {
        if (s.mode === "crash") this.crash(n);
        else {
          this.isolated.add(n.id);
          this.net.isolate(n.id, this.nodes.map((x) => x.id));
        }
        const at = now + this.rng.int(s.downSteps[0], s.downSteps[1]);
        this.scheduled.push({ ...s, at, type: "up" });
      } else if (s.type === "up" && s.mode === "crash" && !n.up) {
        n.start();
      } else if (s.type === "up" && s.mode === "isolate" && this.isolated.delete(n.id)) {
        this.net.reconnect(n.id);
      }
    }
  }

  private crash(node: SimNode): void {
    node.crash();
    if (this.rng.chance(this.profile.crashLosesSends)) this.net.dropFrom(node.id);
  }

  private randomFault(): void {
    const r = this.rng;
    if (!r.chance(this.profile.faultRate)) return;
    const up = this.nodes.filter((n) => n.up);
    const down = this.nodes.filter((n) => !n.up);
    const choice = r.int(0, 6);
    if (choice === 0 && up.length > 0) {
      this.crash(r.pick(up));
    } else if (choice === 1 && down.length > 0) {
      r.pick(down).start();
    } else if (choice === 2 || choice === 3) {
      const ids = this.nodes.map((n) => n.id);
      const cut = r.int(1, ids.length - 1);
      const shuffled = ids.map((id) => ({ id, k: r.next() })).sort((a, b) => a.k - b.k)
        .map((x) => x.id);
      this.net.partition(shuffled.slice(0, cut), shuffled.slice(cut), choice === 3);
    } else if (choice === 4) {
      this.net.heal();
      this.isolated.clear();
    } else if (choice === 5 && up.length > 0) {
      // A fast reboot: whatever was not yet synced is lost, and the server is back at once.
      const n = r.pick(up);
      this.crash(n);
      n.start();
    } else {
      // Crash a leader: the most disruptive single fault.
      const leader = up.find((n) => n.raft?.role === "leader");
      if (leader) this.crash(leader);
    }
  }
}
