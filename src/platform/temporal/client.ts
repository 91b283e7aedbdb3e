import { Client } from '@temporalio/client';
import type { Config } from '../config';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { connectTemporal, temporalDataConverter } from './connection';

/** A Temporal client that encrypts what it sends and decrypts what it reads (src/platform/temporal/connection.ts). */
export async function connectTemporalClient(config: Config): Promise<Client> {
  // Made before connecting: without a payload key the process refuses to start.
  const dataConverter = temporalDataConverter(config);
  const connection = await connectTemporal(config);
  // Carries the caller's trace into the workflow (a no-op while tracing is off).
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}
