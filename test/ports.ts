// Free loopback ports for test clusters and the benchmark's local clusters.
//
// Ports come from below the kernel's ephemeral range, not from port 0: a node killed and
// restarted on its port must find it free, and a port in the ephemeral range can be taken in
// the meantime as the source port of any outgoing connection on the machine (seen in CI: a
// restarted node failed with "Address already in use").

const PORT_MIN = 15_000;
/** Linux's default ip_local_port_range starts here. */
const EPHEMERAL_MIN_DEFAULT = 32_768;

/** `count` distinct free loopback ports: all are held open until each is chosen. */
export function freePorts(count: number): number[] {
  const top = ephemeralMin() - 1;
  const listeners: Deno.Listener[] = [];
  try {
    for (let tries = 0; listeners.length < count; tries++) {
      if (tries > 100 * count) throw new Error(`no ${count} free ports in ${PORT_MIN}-${top}`);
      const port = PORT_MIN + Math.floor(Math.random() * (top - PORT_MIN + 1));
      try {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port }));
      } catch (e) {
        if (!(e instanceof Deno.errors.AddrInUse)) throw e;
      }
    }
    return listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  } finally {
    for (const listener of listeners) listener.close();
  }
}

/** The first port the kernel hands out for outgoing connections. */
function ephemeralMin(): number {
  try {
    const range = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
    const low = Number(range.trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > PORT_MIN + 1000 ? low : EPHEMERAL_MIN_DEFAULT;
  } catch {
    return EPHEMERAL_MIN_DEFAULT;
  }
}
