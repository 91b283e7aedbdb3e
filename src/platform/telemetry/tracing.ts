import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  NoopSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { MsgHdrs } from '@nats-io/transport-node';

/** The tracer every part of Shipshape uses; a no-op until `initTracing` registers a provider. */
export const tracer = () => trace.getTracer('shipshape');

export interface Tracing {
  /** False when spans go nowhere: the Temporal worker then leaves tracing out of workflows. */
  enabled: boolean;
  processor: SpanProcessor;
  resource: Resource;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/**
 * Registers a tracer provider for this process: spans go to the OTLP endpoint when one is configured
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`), or to the given processor (tests use an in-memory exporter). Without
 * either, tracing stays off and costs nothing. Once per process; later calls return the first.
 */
export function initTracing(
  serviceName: string,
  opts: { endpoint?: string; processor?: SpanProcessor },
): Tracing {
  if (active) return active;
  const resource = new Resource({ 'service.name': serviceName });
  const processor =
    opts.processor ??
    (opts.endpoint
      ? new BatchSpanProcessor(
          new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/$/, '')}/v1/traces` }),
        )
      : undefined);
  if (!processor)
    return {
      enabled: false,
      processor: new NoopSpanProcessor(),
      resource,
      shutdown: async () => undefined,
    };
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({
    contextManager: new AsyncLocalStorageContextManager().enable(),
    propagator: new W3CTraceContextPropagator(),
  });
  active = { enabled: true, processor, resource, shutdown: () => provider.shutdown() };
  return active;
}

/** Writes the active trace context into NATS headers (W3C `traceparent`), so the consumer continues the trace. */
export function injectTraceContext(headers: MsgHdrs): void {
  propagation.inject(context.active(), headers, { set: (h, k, v) => h.set(k, v) });
}

/** The trace context a message carries, if any. */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, {
    get: (h, k) => (h.has(k) ? h.get(k) : undefined),
    keys: (h) => h.keys(),
  });
}

/** Runs `fn` in a span that is a child of `parent`, ending it (with an error status on failure). */
export async function inSpan<T>(
  name: string,
  parent: Context,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.CONSUMER,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
