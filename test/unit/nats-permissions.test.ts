import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import {
  JETSTREAM_ADMIN_SUBJECTS,
  natsAccountsConfig,
  natsPermissions,
} from '../../tooling/stack/nats';
import { PROCESS_IDENTITIES } from '../../src/processes/table';
import { SERVICES } from '../../src/domain/types';

describe('NATS users and permissions', () => {
  it('denies every app user the JetStream admin API, and lets each subscribe to its own inbox and questions only', () => {
    for (const id of PROCESS_IDENTITIES) {
      const p = natsPermissions(id);
      assert.deepEqual(p.publish.deny, JETSTREAM_ADMIN_SUBJECTS, id);
      const isService = (SERVICES as readonly string[]).includes(id);
      assert.deepEqual(
        p.subscribe.allow,
        isService ? [`_INBOX.${id}.>`, `svc.${id}.>`] : [`_INBOX.${id}.>`],
        id,
      );
      assert.equal(p.allowResponses === true, isService, `${id} answers requests`);
      for (const s of p.publish.allow)
        assert.ok(
          !/^\$JS\.API\.(STREAM|CONSUMER)\.(CREATE|DELETE|PURGE|UPDATE)/.test(s),
          `${id}: ${s}`,
        );
    }
  });

  it('gives commands to the workflow side and replies to the services that own them', () => {
    assert.ok(natsPermissions('temporal-worker').publish.allow.includes('cmd.payment.>'));
    assert.ok(
      !natsPermissions('temporal-worker').publish.allow.some((s) => s.startsWith('reply.')),
    );
    assert.ok(natsPermissions('payment').publish.allow.includes('reply.payment.>'));
    assert.ok(!natsPermissions('payment').publish.allow.some((s) => s.startsWith('cmd.')));
    assert.ok(!natsPermissions('payment').publish.allow.includes('reply.inventory.>'));
  });

  it("lets each process ask a service only the questions it needs about that service's tables", () => {
    const asks = (id: (typeof PROCESS_IDENTITIES)[number]) =>
      natsPermissions(id).publish.allow.filter((s) => s.startsWith('svc.'));
    assert.deepEqual(asks('api'), [
      'svc.inventory.stock.get',
      'svc.inventory.stock.set',
      'svc.loyalty.points',
    ]);
    assert.deepEqual(
      asks('reconciler'),
      SERVICES.map((s) => `svc.${s}.holds`),
    );
    assert.deepEqual(
      asks('temporal-worker'),
      SERVICES.map((s) => `svc.${s}.record`),
    );
    for (const s of SERVICES) assert.deepEqual(asks(s), [], `${s} asks no other service`);
    assert.deepEqual(asks('cli'), []);
  });

  it('keeps deploy/nats/accounts.conf equal to what the code generates', () => {
    const file = readFileSync(path.join(projectRoot, 'deploy', 'nats', 'accounts.conf'), 'utf8');
    assert.ok(
      file.includes(natsAccountsConfig('from-environment')),
      'regenerate deploy/nats/accounts.conf from natsAccountsConfig("from-environment")',
    );
  });
});
