// The simulator's replicated state machine: a map of keys to values with per-client sessions,
// so a retried proposal is applied once. Values are unique, so a read names the write it saw.

export interface SimCommand {
  c: number; // client
  s: number; // client's sequence number
  k: string;
  v: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(cmd: SimCommand): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

export function decodeCommand(data: Uint8Array): SimCommand {
  return JSON.parse(decoder.decode(data));
}

export class SimStateMachine {
  applied = 0;
  kv = new Map<string, { v: string; rev: number }>();
  sessions = new Map<number, { s: number; rev: number }>();

  /** Returns the revision at which the command took effect (the first time, for a retry). */
  apply(index: number, cmd: SimCommand): number {
    this.applied = index;
    const session = this.sessions.get(cmd.c);
    if (session && cmd.s <= session.s) return cmd.s === session.s ? session.rev : -1;
    this.sessions.set(cmd.c, { s: cmd.s, rev: index });
    this.kv.set(cmd.k, { v: cmd.v, rev: index });
    return index;
  }

  skip(index: number): void {
    this.applied = index;
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({
      applied: this.applied,
      kv: [...this.kv].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
      sessions: [...this.sessions].sort((a, b) => a[0] - b[0]),
    }));
  }

  static restore(data: Uint8Array): SimStateMachine {
    const o = JSON.parse(decoder.decode(data));
    const sm = new SimStateMachine();
    sm.applied = o.applied;
    sm.kv = new Map(o.kv);
    sm.sessions = new Map(o.sessions);
    return sm;
  }

  fingerprint(): string {
    return decoder.decode(this.snapshot());
  }
}
