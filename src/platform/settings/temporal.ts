import { integer, setting, text, url } from './setting';

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
