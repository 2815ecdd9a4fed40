import assert from "node:assert/strict";
import { freePorts } from "./ports.ts";

Deno.test("freePorts: distinct, bindable, and below the ephemeral range", () => {
  const ports = freePorts(20);
  assert.equal(new Set(ports).size, 20);
  const low = Number(
    Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
  );
  for (const port of ports) {
    assert.ok(port >= 15_000 && port < low, `${port} outside [15000, ${low})`);
    Deno.listen({ hostname: "127.0.0.1", port }).close(); // free again once chosen
  }
});
