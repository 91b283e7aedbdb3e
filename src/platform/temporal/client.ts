import { Client } from '@temporalio/client';
import type { Config } from '../config';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { TemporalIdentity } from '../../processes/table';
import { connectTemporal, temporalDataConverter } from './connection';
import { isSigner } from '../../domain/provenance';

/**
 * A Temporal client, connected as `identity`, that encrypts what it sends and decrypts what it reads
 * (src/platform/temporal/connection.ts); a signer's (the API, the reply bridge, the reconciler) also
 * signs what it sends (src/domain/provenance.ts).
 */
export async function connectTemporalClient(
  config: Config,
  identity: TemporalIdentity,
): Promise<Client> {
  // Made before connecting: without a payload key the process refuses to start.
  const dataConverter = temporalDataConverter(
    config,
    isSigner(identity) ? { signer: identity } : {},
  );
  const connection = await connectTemporal(config, identity);
  // Carries the caller's trace into the workflow (a no-op while tracing is off).
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}

/**
 * The same client (its connection, namespace, codec and interceptors), but a query to a workflow
 * whose latest run has closed is refused rather than answered by replaying that run: a terminated
 * order's view stopped where its run stopped, and what happened after is in the orders table.
 */
export function openRunsOnly(client: Client): Client {
  return new Client({
    ...client.options,
    connection: client.connection,
    workflow: { queryRejectCondition: 'NOT_OPEN' },
  });
}
