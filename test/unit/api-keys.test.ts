import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { callerApiKey, serverApiKeys } from '../../src/platform/security/credentials';
import { ConfigError, loadConfig } from '../../src/platform/config';
import {
  ApiKeyError,
  findApiKey,
  hasScope,
  localApiKeys,
  parseApiKeys,
  SCOPES,
} from '../../src/platform/security/api-keys';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';

const SECRET_A = 'a'.repeat(24) + '-client';
const SECRET_B = 'b'.repeat(30);

describe('API keys', () => {
  describe('parsing', () => {
    it('reads name:scope+scope:secret entries, comma- or line-separated, with * for every scope', () => {
      const keys = parseApiKeys(
        `shop:orders:write+orders:read:${SECRET_A}\n# operators\n\nops:*:${SECRET_B}`,
      );
      assert.deepEqual(keys, [
        { name: 'shop', scopes: ['orders:write', 'orders:read'], secret: SECRET_A },
        { name: 'ops', scopes: [...SCOPES], secret: SECRET_B },
      ]);
      assert.equal(parseApiKeys(`ui:codec:${SECRET_A}, ops:operate:${SECRET_B}`).length, 2);
      assert.deepEqual(parseApiKeys(''), []);
    });

    it('names the bad entry and what is wrong with it, never its secret', () => {
      const cases: [string, RegExp][] = [
        [`shop:operate`, /entry 1 \("shop"\): expected name:scope\+scope:secret/],
        [`shop:${SECRET_A}`, /entry 1 \("shop"\): expected name:scope\+scope:secret/],
        [`ok:operate:${SECRET_B},bad name:operate:${SECRET_A}`, /entry 2: name must be/],
        [`shop:orders:delete:${SECRET_A}`, /entry 1 \("shop"\): unknown scope/],
        [`shop:root:${SECRET_A}`, /unknown scope "root"; scopes are orders:write/],
        [`shop:operate:short-secret`, /entry 1 \("shop"\): secret must be at least 24/],
        [`shop:operate:${SECRET_A}\u0007`, /printable ASCII/],
        [
          `a:operate:${SECRET_A},a:codec:${SECRET_B}`,
          /entry 2 \("a"\): the name "a" is used twice/,
        ],
        [`a:operate:${SECRET_A},b:codec:${SECRET_A}`, /entry 2 \("b"\): the same secret/],
      ];
      for (const [spec, message] of cases) {
        assert.throws(
          () => parseApiKeys(spec, 'SHIPSHAPE_API_KEYS'),
          (err: unknown) => {
            assert.ok(err instanceof ApiKeyError, spec);
            assert.match(err.message, /^SHIPSHAPE_API_KEYS: entry /);
            assert.match(err.message, message);
            assert.ok(!err.message.includes(SECRET_A) && !err.message.includes(SECRET_B));
            return true;
          },
        );
      }
    });

    it('refuses bad keys in SHIPSHAPE_API_KEYS as a configuration error', () => {
      assert.throws(
        () => loadConfig({ SHIPSHAPE_API_KEYS: 'shop:operate:tooshort' }),
        (err: unknown) =>
          err instanceof ConfigError && /SHIPSHAPE_API_KEYS: entry 1/.test(err.message),
      );
      assert.throws(
        () => loadConfig({ SHIPSHAPE_API_RATE_PER_MIN: '-1' }),
        /SHIPSHAPE_API_RATE_PER_MIN must be an integer/,
      );
      assert.equal(loadConfig({}).api.ratePerMin, 6000);
    });
  });

  describe('lookup', () => {
    const keys = parseApiKeys(`shop:orders:write+orders:read:${SECRET_A},ops:*:${SECRET_B}`);

    it('finds the key whose secret was presented, and no other', () => {
      assert.equal(findApiKey(keys, SECRET_A)?.name, 'shop');
      assert.equal(findApiKey(keys, SECRET_B)?.name, 'ops');
      assert.equal(findApiKey(keys, undefined), undefined);
      assert.equal(findApiKey(keys, ''), undefined);
      assert.equal(findApiKey(keys, SECRET_A.slice(0, -1)), undefined);
      assert.equal(findApiKey(keys, SECRET_A + 'x'), undefined);
      assert.equal(findApiKey(keys, SECRET_A.toUpperCase()), undefined);
      assert.equal(findApiKey([], SECRET_A), undefined);
    });

    it('grants only the scopes a key was given', () => {
      const shop = findApiKey(keys, SECRET_A)!;
      assert.ok(hasScope(shop, 'orders:write') && hasScope(shop, 'orders:read'));
      assert.ok(!hasScope(shop, 'operate') && !hasScope(shop, 'codec'));
      const ops = findApiKey(keys, SECRET_B)!;
      for (const s of SCOPES) assert.ok(hasScope(ops, s));
    });
  });

  describe('where the keys come from', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipshape-keys-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("uses the local stack's client and operator keys when none are configured", () => {
      const secrets = ensureLocalSecrets(dir);
      const config = loadConfig({ SHIPSHAPE_STACK_DIR: dir });
      const keys = serverApiKeys(config);
      assert.deepEqual(keys, localApiKeys(secrets));
      assert.deepEqual(findApiKey(keys, secrets.apiKeys.client)?.scopes, [
        'orders:write',
        'orders:read',
      ]);
      assert.deepEqual(findApiKey(keys, secrets.apiKeys.operator)?.scopes, [...SCOPES]);
      assert.equal(callerApiKey(config), secrets.apiKeys.operator);
      assert.equal(
        callerApiKey(loadConfig({ SHIPSHAPE_STACK_DIR: dir, SHIPSHAPE_CALLER_API_KEY: 'k' })),
        'k',
      );
    });

    it('refuses to start without keys, naming the variables to set', () => {
      const config = loadConfig({ SHIPSHAPE_STACK_DIR: dir });
      assert.throws(
        () => serverApiKeys(config),
        (err: unknown) =>
          err instanceof ConfigError &&
          /SHIPSHAPE_API_KEYS/.test(err.message) &&
          /SHIPSHAPE_API_KEYS_FILE/.test(err.message),
      );
      assert.equal(callerApiKey(config), undefined);
    });

    it('reads configured keys from the variable and from a file, and only those', () => {
      ensureLocalSecrets(dir); // present, but configuration wins
      const file = path.join(dir, 'api-keys');
      fs.writeFileSync(file, `# deployed keys\nops:operate:${SECRET_B}\n`);
      const config = loadConfig({
        SHIPSHAPE_STACK_DIR: dir,
        SHIPSHAPE_API_KEYS: `shop:orders:write:${SECRET_A}`,
        SHIPSHAPE_API_KEYS_FILE: file,
      });
      assert.deepEqual(
        serverApiKeys(config).map((k) => k.name),
        ['shop', 'ops'],
      );
      fs.writeFileSync(file, `ops:operate:short\n`);
      assert.throws(
        () => serverApiKeys(config),
        (err: unknown) =>
          err instanceof ConfigError && err.message.includes(`SHIPSHAPE_API_KEYS_FILE (${file})`),
      );
      fs.rmSync(file);
      assert.throws(() => serverApiKeys(config), /SHIPSHAPE_API_KEYS_FILE: cannot read .*ENOENT/);
    });
  });
});
