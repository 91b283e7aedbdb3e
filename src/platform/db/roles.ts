import type { ProcessIdentity } from '../../processes/table';

/**
 * PostgreSQL roles. Two kinds, so rights and logins are managed apart:
 * - a group role per process (NOLOGIN, `shipshape_<process>`), made by migration 002, which holds the
 *   grants of that process and nothing else;
 * - a login role per process (`<process>`, with a password), member of its group, made by whoever
 *   holds the passwords: the local stack (tooling/stack/postgres.ts) or deploy/postgres-init.sql.
 * The `migrator` login role owns the schemas and runs the migrations; it is in no group.
 */

/** The database the app's schemas live in, on the local stack's PostgreSQL. */
export const PG_DATABASE = 'shipshape';

export type DatabaseIdentity = ProcessIdentity | 'migrator';

/** The login role a process connects as (PostgreSQL names: no hyphens). */
export const loginRoleOf = (identity: DatabaseIdentity): string => identity.replace(/-/g, '_');

/** The NOLOGIN role holding a process's grants. */
export const groupRoleOf = (identity: ProcessIdentity): string =>
  `shipshape_${loginRoleOf(identity)}`;

export const MIGRATOR_ROLE = loginRoleOf('migrator');
