// The shared Transport contract, run against both implementations.

import { MemoryNetwork } from "./memory_transport.ts";
import { transportContract } from "./transport_contract.ts";
import { WsTransport } from "./ws_transport.ts";

transportContract("memory", () => {
  const network = new MemoryNetwork();
  return {
    create: (id) => network.transport(id),
    address: (id) => ({ id, peer: `memory://${id}` }),
  };
});

transportContract("ws", () => {
  const logs: string[] = [];
  return {
    create: (id) =>
      new WsTransport({
        id,
        listen: { hostname: "127.0.0.1", port: 0 },
        peers: [],
        secret: "contract-secret",
        log: (line) => logs.push(line),
      }),
    address: (id, t) => ({ id, peer: `ws://127.0.0.1:${(t as WsTransport).port}` }),
  };
});
