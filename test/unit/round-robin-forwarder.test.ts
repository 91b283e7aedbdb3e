import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { parseTarget, RoundRobinForwarder } from '../../tooling/stack/round-robin-forwarder';

/** A server that answers every request with its name, as a node would with its own answers. */
async function namedServer(name: string) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => s.write(`${name}:${d.toString()}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Gone, as a killed node is: its listener and its open connections. */
    kill: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** One request over a new connection through the forwarder; the answer, or how it ended. */
async function ask(port: number, request: string): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  socket.write(request);
  return new Promise((resolve) => {
    socket.once('data', (d: Buffer) => {
      resolve(d.toString());
      socket.destroy();
    });
    socket.once('close', () => resolve('closed'));
  });
}

describe('round-robin forwarder (the local Temporal cluster’s load balancer)', () => {
  let a: Awaited<ReturnType<typeof namedServer>>;
  let b: Awaited<ReturnType<typeof namedServer>>;
  let forwarder: RoundRobinForwarder;
  let port: number;

  beforeEach(async () => {
    [a, b] = await Promise.all([namedServer('a'), namedServer('b')]);
    forwarder = new RoundRobinForwarder([
      { host: '127.0.0.1', port: a.port },
      { host: '127.0.0.1', port: b.port },
    ]);
    port = await forwarder.listen(0);
  });
  afterEach(async () => {
    await forwarder.close();
    await Promise.all([a.kill(), b.kill()]);
  });

  it('hands new connections to each server in turn, bytes unchanged both ways', async () => {
    const answers = [];
    for (const request of ['1', '2', '3', '4']) answers.push(await ask(port, request));
    assert.deepEqual(answers, ['a:1', 'b:2', 'a:3', 'b:4']);
  });

  it('skips a server that is gone, so every connection reaches the one left', async () => {
    await b.kill();
    const answers = [];
    for (const request of ['1', '2', '3']) answers.push(await ask(port, request));
    assert.deepEqual(answers, ['a:1', 'a:2', 'a:3']);
  });

  it('ends a client’s connection when its server dies, and its next one goes to the other', async () => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    socket.write('x');
    const [first] = (await once(socket, 'data')) as [Buffer];
    const server = first.toString().startsWith('a') ? a : b;
    const other = server === a ? 'b' : 'a';
    await Promise.all([server.kill(), once(socket, 'close')]);
    assert.equal(await ask(port, 'y'), `${other}:y`);
  });

  it('closes the connection when no server accepts it', async () => {
    await Promise.all([a.kill(), b.kill()]);
    assert.equal(await ask(port, '1'), 'closed');
  });

  it('reads its targets as host:port and names a bad one', () => {
    assert.deepEqual(parseTarget('127.0.0.1:16400'), { host: '127.0.0.1', port: 16400 });
    assert.throws(() => parseTarget('127.0.0.1'), /"127\.0\.0\.1" is not host:port/);
    assert.throws(() => parseTarget('h:70000'), /not host:port/);
  });
});
