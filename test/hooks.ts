import { prepareInfrastructure } from '../src/processes/setup';
import { stackDown, stackStatus, stackUp } from '../tooling/stack/stack';
import { testConfig } from './support/env';

let startedHere = false;

/**
 * Root hooks: integration tests need the real servers. Start the test stack once for the whole run
 * and stop it after, unless it was already running (then it is left as found). Setup (migrations and
 * grants as the migrator, streams and consumers as the NATS admin) runs once here, as `shipshape run` does.
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(15 * 60_000); // a first run may build the Temporal CLI and nats-server
    const config = testConfig();
    const before = await stackStatus(config);
    startedHere = before.every((s) => !s.managed || !s.running);
    await stackUp(config, (line) => process.stderr.write(`[stack] ${line}\n`));
    await prepareInfrastructure(config);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    if (startedHere) await stackDown(testConfig());
  },
};
