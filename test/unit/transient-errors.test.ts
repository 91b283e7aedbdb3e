import assert from 'node:assert/strict';
import { DatabaseError } from 'pg';
import { isTransient, TransientError } from '../../src/services/core/errors';

/** An error as PostgreSQL answers it: its SQLSTATE in `code`. */
const fromPostgres = (code: string, message = 'from the server') => {
  const err = new DatabaseError(message, message.length, 'error');
  err.code = code;
  return err;
};

describe('which failures a command is tried again for', () => {
  it('retries what PostgreSQL says may pass, by SQLSTATE: lost connections, no resources, a restart, a lost race', () => {
    for (const code of ['08006', '08001', '53300', '57P01', '57P03', '40001', '40P01'])
      assert.equal(isTransient(fromPostgres(code)), true, code);
  });

  it('does not retry what will fail again, whatever its message says', () => {
    for (const code of ['23505', '23514', '42501', '42P01', '57014', '22P02'])
      assert.equal(
        isTransient(fromPostgres(code, 'Connection terminated by a constraint')),
        false,
        code,
      );
  });

  it('retries socket failures, node-postgres losing or waiting for a connection, and TransientError', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    assert.equal(isTransient(socket), true);
    assert.equal(isTransient(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isTransient(new Error('timeout exceeded when trying to connect')), true);
    assert.equal(isTransient(new TransientError('carrier answered 503')), true);
    assert.equal(isTransient(new Error('the carrier refused the address')), false);
  });
});
