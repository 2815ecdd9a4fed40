// Public face of lib/config: the cluster file (nodes.json), command-line flags, and the
// typed NodeOptions a node starts from.

export {
  type ArgsResult,
  CLUSTER_USAGE,
  type ClusterArgs,
  DEFAULT_CONFIG_PATH,
  DEFAULT_DATA_DIR,
  GENERATED_NODES_MAX,
  LOG_LEVELS,
  type LogLevel,
  NODE_USAGE,
  type NodeArgs,
  parseClusterArgs,
  parseNodeArgs,
} from "./args.ts";
export {
  CONFIG_FILE_BYTES_MAX,
  loadClusterConfig,
  type LoadResult,
  parseClusterConfig,
  parseClusterConfigText,
} from "./load.ts";
export {
  generateCluster,
  type Member,
  type NodeOptions,
  resolveNodeOptions,
  type ResolveResult,
} from "./options.ts";
export {
  type ClusterConfig,
  clusterConfigSchema,
  formatHostPort,
  type HostPort,
  type NodeEntry,
  NODES_MAX,
  parseHostPort,
  parseUrlAddress,
} from "./schema.ts";
