import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import {
  ALL_CONSUMERS,
  APP_PROCESSES,
  PROCESS_IDENTITIES,
  PROCESS_TABLE,
  RUNNABLE_PROCESSES,
} from '../../src/processes/table';

describe('the table of processes', () => {
  const workersDir = path.join(projectRoot, 'workers');

  it('has one entry point under workers/ for each process that runs, starting that process', () => {
    const entries = readdirSync(workersDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    assert.deepEqual(entries, [...RUNNABLE_PROCESSES].sort());
    for (const name of entries) {
      const source = readFileSync(path.join(workersDir, `${name}.ts`), 'utf8');
      assert.match(
        source,
        new RegExp(`runProcess\\('${name}',`),
        `workers/${name}.ts runs ${name}`,
      );
    }
  });

  it('leaves the fake providers and the CLI out of the app processes that `shipshape run` supervises', () => {
    assert.ok(!APP_PROCESSES.includes('fake-providers'));
    assert.ok(!(APP_PROCESSES as readonly string[]).includes('cli'));
    assert.equal(APP_PROCESSES.length, 10);
  });

  it('gives every process with an identity its own NATS and PostgreSQL credentials in the local stack', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-secrets-'));
    try {
      const secrets = ensureLocalSecrets(dir);
      assert.deepEqual(Object.keys(secrets.nats).sort(), [...PROCESS_IDENTITIES, 'admin'].sort());
      assert.deepEqual(
        Object.keys(secrets.postgres).sort(),
        [...PROCESS_IDENTITIES, 'migrator'].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has each durable consumer pulled by exactly one process', () => {
    const pulled = PROCESS_TABLE.flatMap((p) => p.consumes.map((c) => c.join('/')));
    assert.equal(new Set(pulled).size, pulled.length);
    assert.equal(ALL_CONSUMERS.length, 6); // four services, the reply bridge's replies and dead letters
  });
});
