import { errorCodes } from 'fastify';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on the routes of a context made by `takeEmptyBodiesAsEmptyObjects`, for the OpenAPI document. */
    emptyBodyIsEmptyObject?: boolean;
  }
}

/**
 * The largest body accepted. The largest valid order (100 items with 64-character SKUs, a full
 * address, escaped) is under 32 KiB; anything bigger is not an order.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/** Fastify's own refusals of a body, answered in our words: theirs may quote the body. */
export const BODY_REFUSALS: Record<string, { status: number; error: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    error: 'payload_too_large',
    message: `the body must be at most ${MAX_BODY_BYTES} bytes`,
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    error: 'bad_request',
    message: 'the Content-Length does not match the body',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'the body must be JSON (Content-Type: application/json)',
  },
  FST_ERR_CTP_INVALID_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'the body must be JSON (Content-Type: application/json)',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    error: 'invalid_json',
    message: 'the body is empty but its Content-Type says JSON',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    error: 'invalid_json',
    message: 'the body is not valid JSON',
  },
};

const blank = (body: string) => body.trim() === '';

/**
 * In `app` (an encapsulated context), an empty body is `{}` whatever its Content-Type says, and so is
 * no body at all: many HTTP clients send `Content-Type: application/json` with nothing after it on a
 * POST that needs no input. A body that is not empty must still be JSON (415 otherwise), and a JSON
 * `null` is still refused by the route's schema.
 */
export function takeEmptyBodiesAsEmptyObjects(app: FastifyInstance): void {
  // Fastify's own JSON parser for the rest: it refuses `__proto__` and `constructor.prototype` keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    if (blank(text)) done(null, {});
    else void parseJson(req, text, done);
  });
  // Any other Content-Type (or none, with a body): read it, within the body limit, to see it is empty.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    if (blank(body.toString())) done(null, {});
    else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined);
  });
  // Neither a body nor a Content-Type: fastify reads nothing and leaves the body undefined.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined) req.body = {};
  });
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, emptyBodyIsEmptyObject: true };
  });
}
