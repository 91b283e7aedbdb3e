import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { TcpProxy } from '../../tooling/chaos/tcp-proxy';
import { waitFor } from '../../src/platform/wait';

/** An echo server that also counts the bytes it received, so a test can tell a request arrived. */
async function echoServer() {
  let received = '';
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      received += d.toString();
      s.write(d);
    });
    s.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    received: () => received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function client(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  let got = '';
  let closed: string | undefined;
  socket.on('data', (d: Buffer) => (got += d.toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => (closed = err.code ?? err.message));
  socket.on('close', () => (closed ??= 'closed'));
  return { socket, got: () => got, closed: () => closed };
}

describe('TCP proxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: TcpProxy;

  beforeEach(async () => {
    echo = await echoServer();
    proxy = new TcpProxy({ listenPort: 0, targetPort: echo.port });
    await proxy.start();
  });
  afterEach(async () => {
    await proxy.stop();
    await echo.close();
  });

  it('forwards both ways', async () => {
    const c = await client(proxy.port);
    c.socket.write('hello');
    await waitFor('the echo', () => c.got() === 'hello');
    assert.equal(proxy.connections, 1);
    c.socket.destroy();
  });

  it('delays each chunk by the set time, keeping their order', async () => {
    const c = await client(proxy.port);
    proxy.setMode({ kind: 'delay', ms: 300 });
    const t0 = Date.now();
    c.socket.write('a');
    c.socket.write('b');
    await waitFor('the echo', () => c.got() === 'ab', { timeoutMs: 5000, intervalMs: 10 });
    // Delayed one way and then the other.
    assert.ok(Date.now() - t0 >= 550, `echo after ${Date.now() - t0} ms`);
    proxy.setMode({ kind: 'forward' });
    c.socket.write('c');
    await waitFor('the echo', () => c.got() === 'abc');
    c.socket.destroy();
  });

  it('blackholes: the connection stays open, nothing arrives either way', async () => {
    const c = await client(proxy.port);
    proxy.setMode({ kind: 'blackhole' });
    c.socket.write('lost');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(echo.received(), '');
    assert.equal(c.got(), '');
    assert.equal(c.closed(), undefined);
    c.socket.destroy();
  });

  it('drops replies: the request reaches the server, its answer never comes back', async () => {
    const c = await client(proxy.port);
    proxy.setMode({ kind: 'drop-replies' });
    c.socket.write('charge');
    await waitFor('the server to receive the request', () => echo.received() === 'charge');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.got(), '');
    c.socket.destroy();
  });

  it('resets open connections and every new one', async () => {
    const c = await client(proxy.port);
    proxy.setMode({ kind: 'reset' });
    await waitFor('the reset', () => c.closed());
    assert.equal(c.closed(), 'ECONNRESET');
    const d = net.connect({ port: proxy.port, host: '127.0.0.1' });
    const [err] = (await once(d, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET');
    proxy.setMode({ kind: 'forward' });
    const e = await client(proxy.port);
    e.socket.write('back');
    await waitFor('the echo', () => e.got() === 'back');
    e.socket.destroy();
  });

  it('ends a connection whose server is down, and keeps running', async () => {
    await echo.close();
    const c = await client(proxy.port);
    await waitFor('the close', () => c.closed());
    assert.equal(proxy.connections, 0);
  });

  it('refuses a bad delay', () => {
    assert.throws(() => proxy.setMode({ kind: 'delay', ms: -1 }), /whole number of milliseconds/);
  });
});
