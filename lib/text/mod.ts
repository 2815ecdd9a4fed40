// The CS733 text protocol (API.md §5) over TCP: an incremental binary-safe parser and the
// server that runs its commands against the replica, answering in order on each connection.

export {
  defaultTextServerLimits,
  startTextServer,
  type TextServer,
  type TextServerLimits,
  type TextServerOptions,
} from "./server.ts";
export type { TextMember } from "./execute.ts";
export {
  defaultParserLimits,
  type ParseEvent,
  type ParserLimits,
  type TextCommand,
  TextParser,
} from "./parser.ts";
export { defaultSessionLimits, type SessionLimits } from "./session.ts";
