import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { Logger } from '../logger';
import { authenticate, callerKey } from '../security/http-auth';
import { registerRateLimit } from '../security/rate-limit';
import { RefusalLog } from '../security/refusal-log';
import { findApiKey, hasScope } from '../security/api-keys';
import type { ApiKey } from '../security/api-keys';
import { Sessions } from '../security/sessions';
import { PayloadDecryptionError } from './payload-codec';

/**
 * The codec server: lets the Temporal UI (and `temporal --codec-endpoint`) show decoded payloads to
 * those allowed, without the UI ever holding a key. `POST /codec/decode` and `/codec/encode` take and
 * answer Temporal's JSON shape `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`. Decoding
 * needs an API key with the `codec` scope, encoding one with `codec:encode`; CORS admits only the UI's
 * origin. What it encodes is encrypted but signed by nobody: a workflow takes it as an operator's
 * word (a reconcile, a cancel), never as a service's reply, a resolve or a recorded start.
 */

/** Large enough for a page of history events' payloads (Temporal caps one payload at 2 MiB). */
export const CODEC_MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_PAYLOADS = 10_000;

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const jsonPayloadSchema = z
  .object({
    metadata: z.record(z.string(), base64).optional(),
    data: base64.optional(),
  })
  .strict();
const codecBodySchema = z
  .object({ payloads: z.array(jsonPayloadSchema).max(MAX_PAYLOADS) })
  .strict();
type JsonPayload = z.infer<typeof jsonPayloadSchema>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

const SESSION_FORM = `<!doctype html><title>Shipshape codec server</title>
<form method="post" action="/codec/session">
<p>An API key with the <code>codec</code> scope lets the Temporal UI in this browser show decoded payloads.</p>
<input type="password" name="key" autocomplete="off" size="60" autofocus> <button>Sign in</button>
</form>`;

/** The origin (scheme, host, port) of a URL: what a browser sends in `Origin`. */
export const originOf = (url: string): string => new URL(url).origin;

export interface CodecServerDeps {
  codec: PayloadCodec;
  keys: ApiKey[];
  /** The namespace whose payloads this server holds keys for. */
  namespace: string;
  /** The Temporal UI's origin: the only one CORS admits. */
  uiOrigin: string;
  /** Its certificate and key (PEM): HTTPS instead of plain HTTP. */
  https?: { cert: Buffer; key: Buffer };
  /** Requests a minute per key and per address without a valid key (0: unlimited), as the API's. */
  rate?: { ratePerMin: number; anonymousRatePerMin: number };
  log: Logger;
}

export async function buildCodecServer(deps: CodecServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: CODEC_MAX_BODY_BYTES,
    ...(deps.https ? { https: deps.https } : {}),
  }) as unknown as FastifyInstance;
  const sessions = new Sessions('shipshape_codec');
  await app.register(cors, {
    origin: [deps.uiOrigin],
    credentials: true,
    methods: ['POST'],
    allowedHeaders: ['Authorization', 'X-Api-Key', 'X-Namespace', 'Content-Type'],
    maxAge: 600,
  });

  // Framework errors (bad JSON, too large, wrong media type) in our words: theirs may quote the body.
  // A browser signed in at /codec/session presents its key as a cookie (the UI's "include
  // cross-origin credentials"); a key in a header wins. First of all: the rate limit and the key
  // check both see the key it stands for.
  app.addHook('onRequest', async (req) => {
    if (req.headers.authorization === undefined && req.headers['x-api-key'] === undefined) {
      const fromCookie = sessions.keyOf(sessions.tokenIn(req.headers.cookie));
      if (fromCookie) req.headers['x-api-key'] = fromCookie.secret;
    }
  });
  // A caller that keeps presenting wrong keys shows in the log and is slowed to 429 like at the API.
  const refusals = new RefusalLog(deps.log);
  app.addHook('onResponse', async (req, reply) => {
    const key = callerKey(req, deps.keys);
    refusals.answered(reply.statusCode, {
      method: req.method,
      route: req.routeOptions.url ?? 'unmatched',
      ip: req.ip,
      ...(key ? { key: key.name } : {}),
    });
  });
  if (deps.rate) await registerRateLimit(app, deps.keys, deps.rate);

  app.setErrorHandler(
    (err: { statusCode?: number; code?: string; message?: string }, _req, reply) => {
      const status =
        err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) deps.log.error({ code: err.code }, 'codec server error');
      if (status === 429)
        return reply.code(429).send({ error: 'rate_limited', message: err.message ?? 'slow down' });
      void reply.code(status).send({
        error: status === 413 ? 'payload_too_large' : status === 500 ? 'internal' : 'bad_request',
        message:
          status === 413
            ? `the body must be at most ${CODEC_MAX_BODY_BYTES} bytes`
            : status === 500
              ? 'the codec server failed; see its log'
              : 'the body must be JSON: { "payloads": [{ "metadata": { key: base64 }, "data": base64 }] }',
      });
    },
  );

  const handle =
    (direction: 'encode' | 'decode') => async (req: FastifyRequest, reply: FastifyReply) => {
      // The Temporal CLI sends the header empty when it encodes a signal's input: no namespace named.
      const namespace = req.headers['x-namespace'] || undefined;
      if (namespace !== undefined && namespace !== deps.namespace) {
        return reply.code(400).send({
          error: 'unknown_namespace',
          message: `this codec server holds the keys of namespace "${deps.namespace}" only`,
        });
      }
      const parsed = codecBodySchema.safeParse(req.body);
      if (!parsed.success) {
        return reply.code(400).send({
          error: 'bad_request',
          message:
            'the body must be { "payloads": [{ "metadata": { key: base64 }, "data": base64 }] }',
          issues: parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
        });
      }
      const payloads = parsed.data.payloads.map(fromJson);
      try {
        const out =
          direction === 'decode'
            ? await deps.codec.decode(payloads)
            : await deps.codec.encode(payloads);
        return { payloads: out.map(toJson) };
      } catch (err) {
        if (err instanceof PayloadDecryptionError) {
          return reply.code(422).send({ error: 'undecodable_payload', message: err.message });
        }
        throw err;
      }
    };

  // Reading and writing are two rights: `codec` decodes, `codec:encode` encodes.
  const allowed =
    (scope: 'codec' | 'codec:encode') => async (req: FastifyRequest, reply: FastifyReply) => {
      authenticate(req, reply, deps.keys, scope);
    };
  app.post('/codec/decode', { preParsing: allowed('codec') }, handle('decode'));
  app.post('/codec/encode', { preParsing: allowed('codec:encode') }, handle('encode'));

  // Signing a browser in: the Temporal UI sends no key of its own, but it can send cookies.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.get('/codec/session', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(SESSION_FORM),
  );
  app.post('/codec/session', async (req, reply) => {
    const presented = (req.body as { key?: unknown } | undefined)?.key;
    const key = findApiKey(deps.keys, typeof presented === 'string' ? presented : undefined);
    if (!key) return reply.code(401).type('text/plain').send('unknown API key');
    if (!hasScope(key, 'codec'))
      return reply
        .code(403)
        .type('text/plain')
        .send(`the key "${key.name}" lacks the scope "codec"`);
    void reply.header('set-cookie', sessions.setCookie(sessions.open(key), '/codec'));
    return reply
      .type('text/plain')
      .send(
        `signed in as "${key.name}" for ${sessions.seconds / 3600} hours; in the Temporal UI's codec settings, turn on "include cross-origin credentials"`,
      );
  });
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}
