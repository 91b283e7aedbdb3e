/** Ports of the local stack, shifted together by SHIPSHAPE_PORT_OFFSET so two stacks can coexist. */
export interface StackPorts {
  temporal: number;
  temporalUi: number;
  temporalHttp: number;
  temporalMetrics: number;
  /**
   * The first of the local Temporal cluster's ports (`--temporal cluster`): its two nodes take the 20
   * from here, a test's own cluster the 21 after those. Kept apart from every other stack port, and
   * under 50 in all, so stacks 50 offsets apart never share one.
   */
  temporalCluster: number;
  nats: number;
  natsMonitor: number;
  postgres: number;
  api: number;
  fakePayment: number;
  fakeCarrier: number;
  /** The codec server the Temporal UI decodes payloads through. */
  codecServer: number;
  /**
   * The Temporal UI server beside the local cluster, reached only through the UI gate, which takes
   * `temporalUi` (the dev server serves its own UI there).
   */
  temporalUiServer: number;
  /** `shipshape run` gives each worker process its own metrics port from here up. */
  metricsBase: number;
}

export function stackPorts(offset: number): StackPorts {
  return {
    temporal: 17233 + offset,
    temporalUi: 18233 + offset,
    temporalHttp: 17243 + offset,
    temporalMetrics: 17253 + offset,
    temporalCluster: 16000 + offset,
    nats: 14222 + offset,
    natsMonitor: 18222 + offset,
    postgres: 15432 + offset,
    api: 13000 + offset,
    fakePayment: 18081 + offset,
    fakeCarrier: 18082 + offset,
    codecServer: 18234 + offset,
    temporalUiServer: 18235 + offset,
    metricsBase: 19100 + offset,
  };
}
