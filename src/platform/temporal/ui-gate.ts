import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger';
import { findApiKey, hasScope } from '../security/api-keys';
import type { ApiKey, Scope } from '../security/api-keys';
import { Sessions } from '../security/sessions';

/**
 * The operators' door to the Temporal UI. The UI server has no sign-in of its own that the local stack
 * can run (it speaks OIDC), and every action it offers — terminate, reset, signal, cancel — it takes
 * from whoever reaches it. So nothing reaches it but through this gate: a person signs in with an API
 * key; reading the UI then needs `orders:read`, and every write (any method but GET and HEAD, bar a
 * workflow query, which only reads) needs `operate`. The UI server itself listens where only the gate
 * reaches it.
 */

export const UI_SESSION_COOKIE = 'shipshape_ui';

const SIGN_IN_FORM = (message = '') => `<!doctype html><title>Shipshape: Temporal UI</title>
<form method="post" action="/signin">
<p>Sign in with an API key: <code>orders:read</code> shows the Temporal UI, <code>operate</code> also lets you terminate, reset, cancel and signal runs.</p>
${message ? `<p><strong>${message}</strong></p>` : ''}
<input type="password" name="key" autocomplete="off" size="60" autofocus> <button>Sign in</button>
</form>`;

/** What a request to the UI server needs: reading, or acting on runs. */
export function scopeNeeded(method: string, path: string): Scope {
  if (method === 'GET' || method === 'HEAD') return 'orders:read';
  // A query asks a workflow for its state over POST; it changes nothing.
  if (method === 'POST' && /^\/api\/v1\/namespaces\/[^/]+\/workflows\/.+\/query\//.test(path))
    return 'orders:read';
  return 'operate';
}

export interface UiGateDeps {
  keys: ApiKey[];
  /** The Temporal UI server, e.g. http://127.0.0.1:18235. */
  upstream: string;
  log: Logger;
}

const MAX_FORM_BYTES = 4096;

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_FORM_BYTES) {
        req.destroy();
        reject(new Error('form too large'));
      }
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, error: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error, message }));
}

/** The `Cookie` header without the gate's own cookie: the UI server has no use for the session. */
function withoutSession(cookie: string | undefined): string | undefined {
  const rest = (cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !c.startsWith(`${UI_SESSION_COOKIE}=`));
  return rest.length ? rest.join('; ') : undefined;
}

export function buildUiGate(deps: UiGateDeps): http.Server {
  const sessions = new Sessions(UI_SESSION_COOKIE);
  const upstream = new URL(deps.upstream);

  const signIn = async (req: IncomingMessage, res: ServerResponse) => {
    const page = (status: number, message?: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(SIGN_IN_FORM(message));
    };
    if (req.method === 'GET') return page(200);
    if (req.method !== 'POST') return answer(res, 405, 'method_not_allowed', 'GET or POST');
    const key = findApiKey(deps.keys, (await readForm(req)).get('key') ?? undefined);
    if (!key) return page(401, 'Unknown API key.');
    if (!hasScope(key, 'orders:read') && !hasScope(key, 'operate'))
      return page(403, `The key "${key.name}" has neither orders:read nor operate.`);
    deps.log.info({ key: key.name }, 'signed in to the Temporal UI');
    res.writeHead(303, {
      location: '/',
      'set-cookie': sessions.setCookie(sessions.open(key), '/'),
    });
    res.end();
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const headers = { ...req.headers, host: upstream.host };
    const cookie = withoutSession(req.headers.cookie);
    if (cookie === undefined) delete headers.cookie;
    else headers.cookie = cookie;
    const out = (upstream.protocol === 'https:' ? https : http).request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (back) => {
        res.writeHead(back.statusCode ?? 502, back.headers);
        back.pipe(res);
      },
    );
    out.on('error', (err) => {
      deps.log.warn({ err: err.message }, 'the Temporal UI server did not answer');
      if (!res.headersSent)
        answer(res, 502, 'bad_gateway', 'the Temporal UI server did not answer');
      else res.destroy();
    });
    req.pipe(out);
  };

  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gate');
    const method = req.method ?? 'GET';
    if (url.pathname === '/signin') {
      signIn(req, res).catch(() =>
        answer(res, 400, 'bad_request', 'a sign-in form: key=<API key>'),
      );
      return;
    }
    const token = sessions.tokenIn(req.headers.cookie);
    if (url.pathname === '/signout' && method === 'POST') {
      sessions.close(token);
      res.writeHead(303, { location: '/signin', 'set-cookie': sessions.clearCookie('/') });
      res.end();
      return;
    }
    const key = sessions.keyOf(token);
    if (!key) {
      // A person opening a page is sent to sign in; the UI's own calls are told why they failed.
      if (method === 'GET' && !url.pathname.startsWith('/api/')) {
        res.writeHead(303, { location: '/signin' });
        res.end();
        return;
      }
      return answer(res, 401, 'unauthorized', 'sign in at /signin with an API key');
    }
    const scope = scopeNeeded(method, url.pathname);
    if (!hasScope(key, scope)) {
      deps.log.warn({ key: key.name, method, path: url.pathname }, 'refused: out of scope');
      return answer(res, 403, 'forbidden', `the API key "${key.name}" lacks the scope "${scope}"`);
    }
    forward(req, res);
  });
}
