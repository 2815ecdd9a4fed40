// Operator actions in the simulator (--reconfig): one-server membership changes and leadership
// transfers, issued at whoever leads, in the middle of the nemesis's faults. Spare servers
// start with no configuration, as `--join` nodes do, and wait to be added; a removed server
// keeps running, as a real one does until its operator stops it, and may be added back later
// with whatever its disk still holds. The cluster stays between 3 and 5 voters.

import { type ConfChange, decodeConfChange, type Entry, type NodeId } from "../../lib/raft/mod.ts";
import type { Rng } from "../rng.ts";
import type { SimNode } from "./sim_node.ts";

/** Spare servers a --reconfig run adds to the cluster's initial voters. */
export const SPARES = 2;
const VOTERS_MIN = 3;
const VOTERS_MAX = 5;

export interface ReconfigRates {
  /** Chance per step of proposing a membership change at the leader. */
  change: number;
  /** Chance per step of asking the leader to hand over to another voter. */
  transfer: number;
}

export function chooseRates(r: Rng): ReconfigRates {
  return {
    change: r.pick([0.002, 0.005, 0.02]),
    transfer: r.pick([0, 0.0005, 0.002]),
  };
}

export class Reconfig {
  /** Changes the leader accepted (not necessarily committed). */
  changesProposed = 0;
  /** Of those, removals of the leader itself. */
  leaderRemovals = 0;
  transfersStarted = 0;
  /** Config entries applied anywhere, by index: what the cluster really went through. */
  private readonly applied = new Map<number, ConfChange["type"]>();

  constructor(
    private readonly rng: Rng,
    readonly rates: ReconfigRates,
    private readonly nodes: SimNode[],
  ) {}

  /** Runs before every step of the fault phase. */
  act(): void {
    const leader = this.nodes.find((n) => n.raft?.role === "leader");
    if (!leader) return;
    if (this.rng.chance(this.rates.change)) this.change(leader);
    if (this.rng.chance(this.rates.transfer)) this.transfer(leader);
  }

  /** A server applied a committed entry. */
  onApplied(e: Entry): void {
    if (e.type !== "config") return;
    const change = decodeConfChange(e.data);
    if (change) this.applied.set(e.index, change.type);
  }

  /** Committed membership changes, by kind. */
  committed(): Record<ConfChange["type"], number> {
    const out = { addLearner: 0, promote: 0, remove: 0 };
    for (const type of this.applied.values()) out[type]++;
    return out;
  }

  /** The members of the configuration in force at `node` (the latest in its log). */
  static members(node: SimNode): Set<NodeId> {
    const config = node.raft!.config;
    return new Set([...config.voters, ...config.learners]);
  }

  private change(leader: SimNode): void {
    const config = leader.raft!.config;
    const members = Reconfig.members(leader);
    const spares = this.nodes.filter((n) => !members.has(n.id));
    // A learner is promoted by the leader itself once it has caught up.
    const canAdd = config.learners.length === 0 && config.voters.length < VOTERS_MAX &&
      spares.length > 0;
    const canRemove = config.voters.length > VOTERS_MIN;
    let change: ConfChange;
    if (canAdd && (!canRemove || this.rng.chance(0.5))) {
      change = { type: "addLearner", id: this.rng.pick(spares).id, context: "" };
    } else if (canRemove) {
      change = { type: "remove", id: this.rng.pick(config.voters) }; // the leader too
    } else {
      return;
    }
    if (leader.raft!.proposeConfChange(change).type !== "ok") return;
    this.changesProposed++;
    if (change.type === "remove" && change.id === leader.id) this.leaderRemovals++;
  }

  private transfer(leader: SimNode): void {
    const others = leader.raft!.config.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    if (leader.raft!.transferLeadership(this.rng.pick(others)).type === "ok") {
      this.transfersStarted++;
    }
  }
}
