import { integer, setting, text } from './setting';

/** PostgreSQL: where it is, and how long a statement or an idle transaction may hold on. */
export const databaseSettings = {
  url: setting('DATABASE_URL', text(), "this process's PostgreSQL URL", {
    unset:
      'a private cluster the local stack runs at `127.0.0.1:15432` (+ offset); set, the stack starts none',
  }),
  passwordFile: setting(
    'DATABASE_PASSWORD_FILE',
    text(),
    'a file holding the password, read when connecting, for a DATABASE_URL without one',
    { unset: 'none' },
  ),
  migrationUrl: setting(
    'MIGRATION_DATABASE_URL',
    text(),
    'the URL `shipshape setup` migrates with (the role that owns the schema)',
    { unset: "DATABASE_URL, or the local stack's `migrator`" },
  ),
  statementTimeoutMs: setting(
    'DATABASE_STATEMENT_TIMEOUT_MS',
    integer(30_000, 0),
    "every pooled session's statement_timeout; 0 is none",
  ),
  idleInTransactionTimeoutMs: setting(
    'DATABASE_IDLE_TX_TIMEOUT_MS',
    integer(60_000, 0),
    "every pooled session's idle_in_transaction_session_timeout; 0 is none",
  ),
};
