import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { neededPerSec } from '../../tooling/bench/api-ceiling';
import type { ClientCost } from '../../tooling/bench/client-cost';
import { distDir } from '../../src/platform/paths';
import { startOutsideStream } from '../../tooling/bench/outside-check';
import { OUTSIDE_CLIENTS } from '../../tooling/bench/outside-client';
import { Orders } from '../../tooling/bench/load';
import { latencies } from '../../tooling/bench/phases';
import { clientList } from '../../tooling/bench/plan';
import { findInTree, nicenessOf, workerProcessesOf } from '../../tooling/bench/proc-tree';
import { spreadOf, sustainedFigures, sustainedTable } from '../../tooling/bench/sustained-run';

const execFileAsync = promisify(execFile);

/** A child whose arguments look like a process `shipshape run` starts: node … dist/workers/<name>.js. */
function fakeWorker(name: string): ChildProcess {
  return spawn(
    process.execPath,
    ['-e', 'setTimeout(() => {}, 30000)', `/srv/app/dist/workers/${name}.js`],
    { stdio: 'ignore' },
  );
}

/**
 * What `withClientCost` measures of a load of 10 orders whose body is `load`, in a process of its own,
 * as the load process and the outside client run it: in the test runner's process, its other threads
 * (the collector, earlier tests' clients) would count in the CPU too.
 */
async function costInFreshProcess(load: string): Promise<ClientCost> {
  const module = JSON.stringify(path.join(distDir, 'tooling', 'bench', 'client-cost.js'));
  const { stdout } = await execFileAsync(process.execPath, [
    '-e',
    // Once the event loop runs, as a client's load does: before it, no time counts as the loop's.
    `setTimeout(() => require(${module}).withClientCost(async () => { ${load} }, () => 10)` +
      '.then(({ cost }) => process.stdout.write(JSON.stringify(cost))), 10);',
  ]);
  return JSON.parse(stdout) as ClientCost;
}

describe('npm run bench: the harness', () => {
  it("names a supervisor's children by their entry points, as the process table names them", async () => {
    const children = [fakeWorker('api'), fakeWorker('temporal-worker')];
    try {
      await delay(200);
      const found = workerProcessesOf(process.pid);
      assert.equal(found.api, children[0]!.pid);
      assert.equal(found['temporal-worker'], children[1]!.pid);
      const worker = findInTree(process.pid, (a) =>
        a.some((x) => x.endsWith('temporal-worker.js')),
      );
      assert.equal(worker, children[1]!.pid);
      assert.equal(nicenessOf(process.pid), nicenessOf(children[0]!.pid!));
    } finally {
      for (const c of children) c.kill('SIGKILL');
    }
  });

  it("gives each latency target the throughput Little's law says it needs", () => {
    assert.equal(neededPerSec(16, 50), 320);
    assert.equal(neededPerSec(100, 100), 1000);
    assert.equal(neededPerSec(200, 100), 2000);
  });

  it('reads --ceiling-clients as whole numbers and refuses anything else', () => {
    assert.deepEqual(clientList('16,100, 200'), [16, 100, 200]);
    for (const bad of ['', '16,,100', '0', '1.5', '-3', 'ten'])
      assert.throws(() => clientList(bad), /whole numbers of at least 1/);
  });

  it("gives --sustained's pairs their median and spread, a run that measured nothing left out", () => {
    assert.deepEqual(spreadOf([0.6, 0.8, null, 0.7, 0.9, 0.5]), {
      median: 0.7,
      min: 0.5,
      max: 0.9,
    });
    assert.deepEqual(spreadOf([null]), { median: null, min: null, max: null });
    const pair = (run: number, sustained: number, ceiling: number, cpuAtMax: number) => ({
      run,
      maxOrdersPerSec: sustained,
      cpuMsPerOrder: { all: 300 },
      cpuMsPerOrderAtMax: cpuAtMax,
      cpuBoundShare: Math.round((100 / cpuAtMax) * 100) / 100,
      steps: [],
      ceiling: {
        shape: 'async-activity',
        perSec: ceiling,
        cpuMsPerWorkflow: 100,
        shipshapeShare: Math.round((sustained / ceiling) * 100) / 100,
      },
    });
    const table = sustainedTable(
      sustainedFigures([pair(1, 12, 16, 200), pair(2, 14, 20, 250), pair(3, 13, 18, 160)]),
    );
    assert.match(
      table,
      /median \(min … max\)\s+13 \(12 … 14\)\s+18 \(16 … 20\)\s+0\.72 \(0\.7 … 0\.75\)\s+200 \(160 … 250\)\s+100 \(100 … 100\)\s+0\.5 \(0\.4 … 0\.63\)/,
    );
  });
});

describe('npm run bench: the clients it measures with', () => {
  it("tells a client's own CPU and busy event loop from its waiting", async () => {
    const busy = await costInFreshProcess(
      'const until = performance.now() + 60; while (performance.now() < until);', // 60 ms of CPU
    );
    assert.ok(busy.cpuMsPerOrder >= 4, `CPU per order ${busy.cpuMsPerOrder} ms`);
    assert.ok(busy.eventLoopUtilization > 0.5);
    const waiting = await costInFreshProcess('await new Promise((r) => setTimeout(r, 100));');
    assert.ok(waiting.cpuMsPerOrder < 4, `CPU per order ${waiting.cpuMsPerOrder} ms`);
    assert.ok(waiting.eventLoopUtilization < 0.5);
  });

  it("tells a burst's requests that opened a connection from those on one kept alive", async () => {
    // The first request on each connection is answered 250 ms late, as a slow connection setup would be.
    const seen = new WeakSet<object>();
    const server = http.createServer((req, res) => {
      const first = !seen.has(req.socket);
      seen.add(req.socket);
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(202).end('{}'), first ? 250 : 0));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const orders = new Orders({ url: `http://127.0.0.1:${port}/orders`, headers: {} }, 'conn');
    try {
      await orders.burst(20, 4);
      const { opened, keptAlive } = latencies([...orders.byId.values()]).byConnection;
      assert.equal(orders.connectionsOpened(), 4);
      assert.equal(opened.count, 4);
      assert.equal(keptAlive.count, 16);
      assert.ok(opened.p50Ms! >= 240, `new connections' p50 ${opened.p50Ms} ms`);
      assert.ok(keptAlive.p99Ms! < 250, `kept-alive p99 ${keptAlive.p99Ms} ms`);
    } finally {
      orders.close();
      server.close();
    }
  });

  it('starts the outside client warm and posts its measured stream only when told to', async () => {
    const posted: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        assert.equal(req.headers.authorization, 'Bearer k-1');
        posted.push((JSON.parse(body) as { orderId: string }).orderId);
        res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const target = {
      url: `http://127.0.0.1:${port}/orders`,
      headers: { authorization: 'Bearer k-1' },
    };
    try {
      for (const kind of OUTSIDE_CLIENTS) {
        posted.length = 0;
        const client = await startOutsideStream(target, 30, 3, 6, kind, `t-${kind}`);
        // Warm and waiting: only the warm-up has been posted.
        assert.equal(posted.length, 6);
        assert.ok(posted.every((id) => id.startsWith(`t-${kind}w-`)));
        const figures = await client.go();
        assert.equal(posted.length, 36);
        assert.equal(figures.accepted, 30);
        assert.deepEqual(figures.refusedBy, {});
        assert.ok(figures.clientCost.cpuMsPerOrder > 0);
        assert.ok(figures.acceptP99Ms >= figures.acceptP50Ms);
      }
    } finally {
      server.close();
    }
  });
});
