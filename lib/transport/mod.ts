// The peer transport: the Transport interface, its WebSocket and in-memory implementations,
// and the frame codec (MessagePack + zod) they share.

export type {
  PeerAddress,
  PeerMessage,
  PeerStatus,
  SnapAck,
  SnapChunk,
  Transport,
  TransportStats,
} from "./transport.ts";
export { WsTransport, type WsTransportOptions } from "./ws_transport.ts";
export { MemoryNetwork, MemoryTransport, type MemoryTransportOptions } from "./memory_transport.ts";
export {
  type Codec,
  type CodecLimits,
  createCodec,
  decodeFrame,
  type DecodeResult,
  defaultCodecLimits,
  encodeFrame,
  type EncodeResult,
  type Frame,
  FRAME_VERSION,
  frameBytesMax,
  type OutFrame,
  raftFrame,
} from "./codec.ts";
