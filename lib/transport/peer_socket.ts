// The few socket operations a peer Connection needs, so that the accepted side (Deno's
// server WebSocket) and the dialing side (our WsClient, see ws_client.ts) look alike.

export interface SocketHandlers {
  open(): void;
  /** A complete message: binary as an ArrayBuffer, text as a string. */
  message(data: ArrayBuffer | string): void;
  /** Fires exactly once, whatever the cause; `code` is the peer's close code or 1006. */
  close(code: number): void;
}

export interface PeerSocket {
  readonly isOpen: boolean;
  /** Bytes accepted by send() and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Sets the event handlers; call once, right after construction. */
  listen(handlers: SocketHandlers): void;
  /** Sends one binary message. Only call while isOpen. */
  send(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** Adapts a standard WebSocket (here: the server side from Deno.upgradeWebSocket). */
export function fromWebSocket(socket: WebSocket): PeerSocket {
  socket.binaryType = "arraybuffer";
  return {
    get isOpen() {
      return socket.readyState === WebSocket.OPEN;
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    listen(h) {
      socket.onopen = () => h.open();
      socket.onmessage = (e: MessageEvent) => {
        const data: unknown = e.data;
        if (typeof data === "string" || data instanceof ArrayBuffer) h.message(data);
        else h.message(""); // cannot happen with binaryType "arraybuffer"; treated as text
      };
      socket.onerror = () => {}; // the close event that follows does the work
      socket.onclose = (e: CloseEvent) => h.close(e.code);
    },
    send(bytes) {
      socket.send(bytes);
    },
    close(code, reason) {
      try {
        socket.close(code, reason);
      } catch {
        // already closing
      }
    },
  };
}
