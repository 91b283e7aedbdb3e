import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { runBehind, schedulingGroupOf } from '../../src/processes/priority';

function idle(detached: boolean): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], {
    stdio: 'ignore',
    detached,
  });
}

const autogroupOf = (pid: number) => schedulingGroupOf(pid)?.group;
const autogroupNice = (pid: number) => schedulingGroupOf(pid)?.niceness;

describe('running the drain behind the API', () => {
  it('puts a server started in a session of its own behind, session and all', () => {
    const server = idle(true);
    try {
      assert.notEqual(autogroupOf(server.pid!), autogroupOf(process.pid));
      assert.equal(runBehind(server.pid, 10), true);
      assert.equal(os.getPriority(server.pid), 10);
      // Without this, the niceness would rank it only inside its own session (Linux's autogroup).
      assert.equal(autogroupNice(server.pid!), 10);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it("leaves the caller's own session at its priority when the process shares it", () => {
    const before = autogroupNice(process.pid);
    const child = idle(false);
    try {
      assert.equal(autogroupOf(child.pid!), autogroupOf(process.pid));
      assert.equal(runBehind(child.pid, 10), true);
      assert.equal(os.getPriority(child.pid), 10);
      assert.equal(autogroupNice(process.pid), before);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('does nothing for a niceness of 0 or a process that is gone', () => {
    assert.equal(runBehind(undefined, 10), false);
    assert.equal(runBehind(process.pid, 0), false);
  });
});
