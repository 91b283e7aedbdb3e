import { loadConfig } from '../../src/platform/config';
import type { Config } from '../../src/platform/config';

/**
 * The test stack: its own data folder and ports (offset 100), so tests never meet a demo stack
 * or the system's services. DATABASE_URL and the rest are honoured when set, as for the app.
 */
export const TEST_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  SHIPSHAPE_STACK_DIR: process.env.SHIPSHAPE_TEST_STACK_DIR ?? '.shipshape-test',
  SHIPSHAPE_PORT_OFFSET: process.env.SHIPSHAPE_TEST_PORT_OFFSET ?? '100',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'fatal',
};

/**
 * Stacks some tests start beside the test stack, each this far above its offset: the chaos test's,
 * the stack test's and the deployment test's (test/unit/stack-ports.test.ts keeps them apart).
 */
export const BESIDE_TEST_STACK = { chaos: 50, stack: 150, deployment: 200 } as const;

/** The offset of a stack that runs beside the test stack. */
export const besideTestStack = (which: keyof typeof BESIDE_TEST_STACK): string =>
  String(Number(TEST_ENV.SHIPSHAPE_PORT_OFFSET) + BESIDE_TEST_STACK[which]);

export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ ...TEST_ENV, ...overrides });
}

/** A short unique suffix so each test's orders, SKUs and customers are its own. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
