import { integer, matching, onOff, setting, text, url } from './setting';

/** Where Temporal is, how to reach it, and how much the Temporal worker takes on. */
export const temporalSettings = {
  address: setting('TEMPORAL_ADDRESS', text(), "Temporal's frontend, host:port", {
    unset: 'the local stack: `127.0.0.1:17233` (+ SHIPSHAPE_PORT_OFFSET)',
  }),
  namespace: setting('TEMPORAL_NAMESPACE', text('default'), 'the namespace orders run in'),
  taskQueue: setting(
    'TEMPORAL_TASK_QUEUE',
    text('shipshape-orders'),
    'the task queue of the order workflows and their activities',
  ),
  uiUrl: setting('TEMPORAL_UI_URL', url(), "the Temporal UI, for the links to each order's run", {
    unset: 'the local stack: `http://127.0.0.1:18233` (+ offset)',
  }),
  tlsCert: setting(
    'TEMPORAL_TLS_CERT',
    text(),
    'a client certificate (PEM file) for mTLS to Temporal; needs TEMPORAL_TLS_KEY',
    { unset: 'plain to the dev server; the local cluster gets each process its own certificate' },
  ),
  tlsKey: setting('TEMPORAL_TLS_KEY', text(), "the client certificate's key (PEM file)", {
    unset: 'none',
  }),
  tlsCa: setting(
    'TEMPORAL_TLS_CA',
    text(),
    "the CA that signed Temporal's certificate (PEM file)",
    {
      unset: "the system's",
    },
  ),
  tlsServerName: setting(
    'TEMPORAL_TLS_SERVER_NAME',
    text(),
    "the name Temporal's certificate is checked against",
    { unset: "the address's host" },
  ),
  apiKey: setting('TEMPORAL_API_KEY', text(), 'a Temporal Cloud API key (implies TLS)', {
    unset: 'none',
    secret: true,
  }),
  workerVersioning: setting(
    'SHIPSHAPE_WORKER_VERSIONING',
    onOff(true),
    'the Temporal worker runs as a Worker Deployment Version (deployment name and build id), so each order stays on the build it started on (docs/operations.md, "Changing the workflow"); `off` only on a task queue no version owns',
  ),
  deploymentName: setting(
    'SHIPSHAPE_DEPLOYMENT_NAME',
    // No dots: Temporal names a version `<deployment>.<build id>`.
    matching(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/,
      'a letter or digit, then up to 99 letters, digits, `_` or `-` (no dots)',
      'shipshape',
    ),
    "the Worker Deployment the Temporal worker's version belongs to",
  ),
  buildId: setting(
    'SHIPSHAPE_BUILD_ID',
    matching(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
      'a letter or digit, then up to 99 letters, digits, `.`, `_` or `-`',
    ),
    "the Temporal worker's build id, a release's name for its workflow code; a build id already claimed by other workflow code is refused",
    { unset: 'derived from the workflow code: `wf-` and 16 hex digits of its hash' },
  ),
  makeCurrent: setting(
    'SHIPSHAPE_MAKE_CURRENT',
    onOff(true),
    "the Temporal worker makes its version the deployment's current one when it first polls, unless a version registered after it is current; a version once current or ramping is left as routed (`off` for a gradual rollout: ramp it yourself, docs/operations.md)",
  ),
  activitySlots: setting(
    'SHIPSHAPE_ACTIVITY_SLOTS',
    integer(100, 1, 10_000),
    'activities the Temporal worker runs at once',
  ),
  workflowTaskSlots: setting(
    'SHIPSHAPE_WORKFLOW_TASK_SLOTS',
    integer(40, 2, 10_000),
    'workflow tasks the Temporal worker runs at once',
  ),
  cachedWorkflows: setting(
    'SHIPSHAPE_WORKFLOW_CACHE',
    integer(500, 2, 100_000),
    "workflows the Temporal worker keeps in memory between their tasks (one evicted replays its history); sized with the worker's heap limit (docs/scaling.md)",
  ),
};
