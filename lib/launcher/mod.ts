// Public face of lib/launcher: the two commands of API.md §2, as functions that resolve
// to an exit code (main.ts calls Deno.exit with it).

export {
  type ChildCommand,
  type ChildSpec,
  type ClusterDeps,
  defaultChildCommand,
  defaultClusterDeps,
  MAIN_PATH,
  runCluster,
} from "./cluster.ts";
export {
  defaultNodeDeps,
  type NodeDeps,
  type RunningNode,
  runNode,
  type StartNode,
} from "./node.ts";
export {
  LINE_CHARS_MAX,
  linePrefixes,
  type OnStopSignal,
  type OutputStream,
  processStopSignals,
  readLines,
  STOP_SIGNALS,
  type StopSignal,
  type Write,
  writeToConsole,
} from "./output.ts";
