import { Client } from '@temporalio/client';
import type { Config } from '../config';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { connectTemporal, temporalDataConverter } from './connection';
import type { Signer } from '../../domain/provenance';

/**
 * A Temporal client that encrypts what it sends and decrypts what it reads
 * (src/platform/temporal/connection.ts); a `signer`'s also signs what it sends.
 */
export async function connectTemporalClient(config: Config, signer?: Signer): Promise<Client> {
  // Made before connecting: without a payload key the process refuses to start.
  const dataConverter = temporalDataConverter(config, signer ? { signer } : {});
  const connection = await connectTemporal(config);
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
