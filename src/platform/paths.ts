import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The folder holding package.json; code runs from `dist/` after a build, so walk up to find it. */
function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

export const projectRoot = findProjectRoot(__dirname);
export const migrationsDir = path.join(projectRoot, 'src', 'platform', 'db', 'migrations');
/** Compiled entry points live under dist/ with the same layout as the sources. */
export const distDir = path.join(projectRoot, 'dist');

/** The version package.json gives, e.g. for the API's OpenAPI document. */
export const projectVersion = (
  JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;
