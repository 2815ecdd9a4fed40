// The peer network of a chaos cluster: one fault proxy per ordered pair of nodes. Node `a`'s
// cluster file lists node `b` at the proxy (a→b), which forwards to b's real peer listener.
// Only the node with the smaller id dials, so one proxy of each pair carries the pair's
// connection; setting a link on both keeps the faults right whichever one it is.

import { type Direction, FaultProxy, type LinkMode, PASS } from "./proxy.ts";

export interface LinkFault {
  from: string;
  to: string;
  mode: LinkMode;
}

export class PeerNetwork {
  private readonly proxies = new Map<string, FaultProxy>();

  /** `peerPort(id)`: where node `id` really listens for peers. */
  constructor(
    readonly ids: readonly string[],
    peerPort: (id: string) => number,
    random: () => number,
  ) {
    for (const from of ids) {
      for (const to of ids) {
        if (from === to) continue;
        const target = { hostname: "127.0.0.1", port: peerPort(to) };
        this.proxies.set(pairKey(from, to), new FaultProxy({ target, random }));
      }
    }
  }

  /** The peer URL node `from` uses for node `to`. */
  peerUrl(from: string, to: string): string {
    return `ws://127.0.0.1:${this.proxy(from, to).port}`;
  }

  /** Sets what happens to bytes node `from` sends to node `to`. */
  setLink(from: string, to: string, mode: LinkMode): void {
    // (from→to) carries them forward when `from` dialed; (to→from) backward when `to` did.
    this.set(from, to, "forward", mode);
    this.set(to, from, "backward", mode);
  }

  /** Blackholes (or cuts) every link between nodes of different groups, both ways. */
  partition(
    groups: readonly (readonly string[])[],
    mode: LinkMode = { type: "blackhole" },
  ): void {
    for (const [i, a] of groups.entries()) {
      for (const b of groups.slice(i + 1)) {
        for (const x of a) {
          for (const y of b) {
            this.setLink(x, y, mode);
            this.setLink(y, x, mode);
          }
        }
      }
    }
  }

  /** Applies `mode` to every link, both ways. */
  setAll(mode: LinkMode): void {
    for (const from of this.ids) {
      for (const to of this.ids) if (from !== to) this.setLink(from, to, mode);
    }
  }

  heal(): void {
    this.setAll(PASS);
  }

  /** Links not passing, for logs: "n1→n2 blackhole". */
  faults(): LinkFault[] {
    const out: LinkFault[] = [];
    for (const from of this.ids) {
      for (const to of this.ids) {
        if (from === to) continue;
        const mode = this.proxy(from, to).mode("forward");
        if (mode.type !== "pass") out.push({ from, to, mode });
      }
    }
    return out;
  }

  /** Units dropped and connections refused or cut, over all proxies. */
  stats(): { unitsDropped: number; refused: number; closedByCut: number; accepted: number } {
    let unitsDropped = 0, refused = 0, closedByCut = 0, accepted = 0;
    for (const proxy of this.proxies.values()) {
      unitsDropped += proxy.stats.unitsDropped.forward + proxy.stats.unitsDropped.backward;
      refused += proxy.stats.refused;
      closedByCut += proxy.stats.closedByCut;
      accepted += proxy.stats.accepted;
    }
    return { unitsDropped, refused, closedByCut, accepted };
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
  }

  private set(a: string, b: string, direction: Direction, mode: LinkMode): void {
    this.proxy(a, b).setMode(direction, mode);
  }

  private proxy(from: string, to: string): FaultProxy {
    const proxy = this.proxies.get(pairKey(from, to));
    if (proxy === undefined) throw new Error(`no link ${from}→${to}`);
    return proxy;
  }
}

function pairKey(from: string, to: string): string {
  return `${from}>${to}`;
}
