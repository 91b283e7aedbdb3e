import { parseCrashPoints } from '../crash-point-spec';
import { integer, oneOf, parsedBy, setting, text, url } from './setting';

/** How Shipshape runs as processes: the local stack, logs, metrics, traces. */
export const TEMPORAL_MODES = ['dev', 'cluster'] as const;
export type TemporalMode = (typeof TEMPORAL_MODES)[number];

export const processSettings = {
  stackDir: setting(
    'SHIPSHAPE_STACK_DIR',
    text('.shipshape'),
    "the local stack's data, logs and pid files, relative to the project",
  ),
  portOffset: setting(
    'SHIPSHAPE_PORT_OFFSET',
    integer(0, 0, 20_000),
    'shifts every local port together, so that two stacks can run side by side (the tests use 100)',
  ),
  temporalMode: setting(
    'SHIPSHAPE_TEMPORAL',
    oneOf(TEMPORAL_MODES),
    'how the local stack runs Temporal: `dev` (the CLI dev server) or `cluster` (two nodes on PostgreSQL, mTLS)',
    { unset: 'a running stack keeps its mode, a new one gets `dev`' },
  ),
  binCache: setting(
    'SHIPSHAPE_BIN_CACHE',
    text(),
    'where the built Temporal CLI, server and UI and nats-server are kept, outside the clone so clones share them',
    { unset: '`$XDG_CACHE_HOME/shipshape/bin`, or `~/.cache/shipshape/bin`' },
  ),
  xdgCacheHome: setting('XDG_CACHE_HOME', text(), 'the user cache folder', { unset: '`~/.cache`' }),
  drainNiceness: setting(
    'SHIPSHAPE_DRAIN_NICENESS',
    integer(10, 0, 19),
    "the CPU niceness `shipshape run` and the local stack give the processes that drain the backlog (Temporal, its worker, NATS, the services, the bridge, the relay; for the Temporal and NATS servers, which run in sessions of their own, their sessions' scheduling group too), so accepting orders wins the cores; 0 runs all alike",
  ),
  logLevel: setting(
    'LOG_LEVEL',
    oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    'the least level a process logs',
  ),
  metricsPort: setting(
    'METRICS_PORT',
    integer(0, 0, 65_535),
    'where a worker process serves GET /metrics; 0 serves none (`shipshape run` gives each its own port from 19100 up; the API serves its own on PORT)',
  ),
  otlpEndpoint: setting(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    url(),
    'where each process exports its spans, over OTLP/HTTP',
    { unset: 'tracing off' },
  ),
  crashPoints: setting(
    'SHIPSHAPE_CRASH_POINTS',
    parsedBy(parseCrashPoints),
    'named points where a process kills itself, for the chaos campaign (docs/reliability.md); never in a deployment',
    { unset: 'none' },
  ),
};
