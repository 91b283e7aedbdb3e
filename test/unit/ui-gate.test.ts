import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/platform/logger';
import type { ApiKey } from '../../src/platform/security/api-keys';
import { buildUiGate, scopeNeeded, UI_SESSION_COOKIE } from '../../src/platform/temporal/ui-gate';

const listen = async (server: http.Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

describe('the Temporal UI gate', () => {
  it('asks orders:read to read and operate for anything that acts on a run', () => {
    const runs = '/api/v1/namespaces/shipshape/workflows/order-1';
    assert.equal(scopeNeeded('GET', `${runs}/history`), 'orders:read');
    assert.equal(scopeNeeded('HEAD', '/'), 'orders:read');
    assert.equal(scopeNeeded('POST', `${runs}/query/getOrder`), 'orders:read');
    for (const action of ['terminate', 'cancel', 'reset', 'signal/reconcile', 'update/x'])
      assert.equal(scopeNeeded('POST', `${runs}/${action}`), 'operate', action);
    assert.equal(
      scopeNeeded('POST', '/api/v1/namespaces/shipshape/batch-operations/b1'),
      'operate',
    );
    assert.equal(scopeNeeded('DELETE', '/api/v1/namespaces/shipshape/schedules/s'), 'operate');
    // A query path elsewhere than a workflow's is no read.
    assert.equal(scopeNeeded('POST', '/api/v1/namespaces/shipshape/query/x'), 'operate');
  });

  describe('in front of a stand-in UI server', () => {
    const seen: { method: string; url: string; cookie: string | undefined }[] = [];
    const upstream = http.createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, cookie: req.headers.cookie });
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': '_csrf=abc; Path=/' });
      res.end('from the UI server');
    });
    const keys: ApiKey[] = [
      { name: 'reader', scopes: ['orders:read'], secret: 'r'.repeat(24) },
      { name: 'operator', scopes: ['orders:read', 'operate'], secret: 'o'.repeat(24) },
      { name: 'prometheus', scopes: ['metrics'], secret: 'p'.repeat(24) },
    ];
    let gate: http.Server;
    let url: string;
    before(async () => {
      const up = await listen(upstream);
      gate = buildUiGate({ keys, upstream: up, log: createLogger('ui-gate-test', 'silent') });
      url = await listen(gate);
    });
    after(() => {
      gate.close();
      gate.closeAllConnections();
      upstream.close();
      upstream.closeAllConnections();
    });

    const signIn = async (key: string) => {
      const res = await fetch(`${url}/signin`, {
        method: 'POST',
        body: new URLSearchParams({ key }),
        redirect: 'manual',
      });
      return { status: res.status, cookie: res.headers.get('set-cookie')?.split(';')[0] };
    };

    it('signs in holders of a key that may read, and no one else', async () => {
      assert.equal((await signIn('x'.repeat(24))).status, 401);
      assert.equal((await signIn('p'.repeat(24))).status, 403, 'a metrics key shows nothing');
      const reader = await signIn('r'.repeat(24));
      assert.equal(reader.status, 303);
      assert.match(reader.cookie!, new RegExp(`^${UI_SESSION_COOKIE}=`));
      assert.ok(!reader.cookie!.includes('r'.repeat(24)), 'the cookie is not the key');
    });

    it('passes a signed-in reader’s reads through, without its session cookie, and refuses its writes', async () => {
      const { cookie } = await signIn('r'.repeat(24));
      const before = seen.length;
      const read = await fetch(`${url}/api/v1/settings`, {
        headers: { cookie: `${cookie}; _csrf=abc` },
      });
      assert.equal(read.status, 200);
      assert.equal(await read.text(), 'from the UI server');
      assert.equal(seen.at(-1)?.cookie, '_csrf=abc', 'the UI server never sees the session');
      const write = await fetch(`${url}/api/v1/namespaces/n/workflows/w/terminate`, {
        method: 'POST',
        headers: { cookie: cookie! },
      });
      assert.equal(write.status, 403);
      assert.equal(seen.length, before + 1, 'the refused write never reached the UI server');
      const operator = await signIn('o'.repeat(24));
      const done = await fetch(`${url}/api/v1/namespaces/n/workflows/w/terminate`, {
        method: 'POST',
        headers: { cookie: operator.cookie! },
      });
      assert.equal(done.status, 200);
      assert.deepEqual(seen.at(-1)?.method, 'POST');
    });

    it('sends a person without a session to sign in, and tells the UI’s own calls why', async () => {
      const page = await fetch(`${url}/namespaces/n/workflows`, { redirect: 'manual' });
      assert.equal(page.status, 303);
      assert.equal(page.headers.get('location'), '/signin');
      const call = await fetch(`${url}/api/v1/namespaces/n/workflows`);
      assert.equal(call.status, 401);
      const forged = await fetch(`${url}/api/v1/settings`, {
        headers: { cookie: `${UI_SESSION_COOKIE}=${'A'.repeat(43)}` },
      });
      assert.equal(forged.status, 401, 'a made-up session is none');
    });

    it('ends a session on sign-out', async () => {
      const { cookie } = await signIn('o'.repeat(24));
      const out = await fetch(`${url}/signout`, {
        method: 'POST',
        headers: { cookie: cookie! },
        redirect: 'manual',
      });
      assert.equal(out.status, 303);
      assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
      assert.equal(
        (await fetch(`${url}/api/v1/settings`, { headers: { cookie: cookie! } })).status,
        401,
      );
    });
  });
});
