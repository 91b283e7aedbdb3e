import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { KNOWN_VARIABLES, loadConfig } from '../../src/config';
import { projectRoot } from '../../src/paths';
import { APP_PROCESSES } from '../../src/runtime/supervisor';

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
}

/** docker-compose.yml cannot run here (no Docker engine): check it against the code instead. */
describe('docker-compose.yml, checked against the code', () => {
  const compose = parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<string, ComposeService>;
  };
  const services = compose.services;
  const app = Object.entries(services).filter(([, s]) => s.image === 'shipshape:latest');
  const hostPort = (name: string) =>
    (services[name]?.ports ?? []).map((p) => Number(p.split(':')[1]));

  it('runs every process of the app from an entry point that exists', () => {
    for (const name of [...APP_PROCESSES, 'fake-providers']) {
      const svc = services[name];
      assert.ok(svc, `a service for ${name}`);
      assert.deepEqual(svc.command, ['node', `dist/workers/${name}.js`]);
      assert.ok(existsSync(path.join(projectRoot, 'workers', `${name}.ts`)), `workers/${name}.ts`);
    }
  });

  it('sets every variable a deployment needs, only variables the code reads, and values the code accepts', () => {
    const required = [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_TASK_QUEUE',
      'NATS_SERVERS',
      'DATABASE_URL',
      'PAYMENT_PROVIDER_URL',
      'CARRIER_URL',
    ];
    for (const [name, svc] of app) {
      const env = svc.environment ?? {};
      for (const v of required) assert.ok(env[v], `${name} sets ${v}`);
      for (const v of Object.keys(env))
        assert.ok(KNOWN_VARIABLES.includes(v), `${name} sets ${v}, which the code does not read`);
      assert.doesNotThrow(() => loadConfig(env), `${name}'s settings parse`);
    }
  });

  it('points every address at a service that listens on that port', () => {
    const env = services.api!.environment!;
    const target = (url: string) => {
      const u = new URL(url.includes('://') ? url : `tcp://${url}`);
      return { host: u.hostname, port: Number(u.port) };
    };
    const temporal = target(env.TEMPORAL_ADDRESS!);
    assert.equal(temporal.host, 'temporal');
    assert.ok(hostPort('temporal').includes(temporal.port));
    const nats = target(env.NATS_SERVERS!);
    assert.equal(nats.host, 'nats');
    assert.ok(hostPort('nats').includes(nats.port));
    const db = target(env.DATABASE_URL!);
    assert.equal(db.host, 'postgres');
    assert.equal(db.port, 5432);
    // The fake providers listen on the ports their URLs name (src/runtime/components.ts reads them from the URLs).
    assert.equal(target(env.PAYMENT_PROVIDER_URL!).host, 'fake-providers');
    assert.equal(target(env.CARRIER_URL!).host, 'fake-providers');
    // The API listens on PORT, on all interfaces, and publishes that port.
    const api = loadConfig(env);
    assert.equal(api.api.host, '0.0.0.0');
    assert.ok(hostPort('api').includes(api.api.port), `api publishes ${api.api.port}`);
    assert.equal(services['temporal-ui']?.environment?.TEMPORAL_ADDRESS, env.TEMPORAL_ADDRESS);
  });
});
