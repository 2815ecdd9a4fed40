// Metrics and health: a small Prometheus registry, the node's instruments (storage and
// transport decorators, replica hooks, scrape-time gauges), request metrics for Hono,
// GET /metrics and GET /v1/health.

export {
  type CallbackOptions,
  CONTENT_TYPE,
  Counter,
  Gauge,
  Histogram,
  type HistogramOptions,
  type Labels,
  type MetricOptions,
  type MetricType,
  Registry,
  type Sample,
} from "./registry.ts";
export { type HttpMetrics, registerMetricsRoute, requestMetrics, routeLabel } from "./http.ts";
export { LATENCY_BUCKETS, NodeMetrics, type NodeSources } from "./node.ts";
export { TimedStorage } from "./storage.ts";
export { ObservedTransport, type TransportMetrics } from "./transport.ts";
export {
  DEFAULT_LAG_MAX,
  type HealthInput,
  type HealthLimits,
  healthReasons,
  registerHealthRoute,
} from "./health.ts";
