// The chaos suite's public face: real-process runs with a nemesis (runChaos), the
// linearizability checker, and the fault proxy, for other suites that want them.

export { type ChaosOptions, type ChaosSummary, runChaos } from "./chaos.ts";
export { ChaosCluster } from "./chaos_cluster.ts";
export { type CompletedOp, History, type HistoryOp, type Outcome } from "./history.ts";
export { type FinalState, lostWrites, toCheckOps } from "./analysis.ts";
export {
  ABSENT,
  type CheckOp,
  checkPartitioned,
  checkRegister,
  type CheckResult,
  type RegisterOp,
} from "./lincheck.ts";
export { type Direction, FaultProxy, type LinkMode } from "./proxy.ts";
export { PeerNetwork } from "./network.ts";
