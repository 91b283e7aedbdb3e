import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { neededPerSec } from '../../tooling/bench/api-ceiling';
import { clientList } from '../../tooling/bench/plan';
import { findInTree, nicenessOf, workerProcessesOf } from '../../tooling/bench/proc-tree';

/** A child whose arguments look like a process `shipshape run` starts: node … dist/workers/<name>.js. */
function fakeWorker(name: string): ChildProcess {
  return spawn(
    process.execPath,
    ['-e', 'setTimeout(() => {}, 30000)', `/srv/app/dist/workers/${name}.js`],
    { stdio: 'ignore' },
  );
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
});
