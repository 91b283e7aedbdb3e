import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import type { OpenAPIV3_1 } from 'openapi-types';
import { buildTestApi, CLIENT, CODEC, OPERATOR } from '../support/api-stand-ins';
import { invalidRequests } from '../support/invalid-requests';

type Doc = OpenAPIV3_1.Document;
type Operation = OpenAPIV3_1.OperationObject;

/**
 * Every route a caller may use, the answers it may give (besides 500) and the scope it needs: what
 * the document must say. A new route is a line here.
 */
const ROUTES: Record<string, { answers: number[]; scope?: string }> = {
  'POST /orders': { answers: [200, 202, 400, 401, 403, 413, 415, 429], scope: 'orders:write' },
  'GET /orders/{orderId}': { answers: [200, 400, 401, 403, 404, 429], scope: 'orders:read' },
  'POST /orders/{orderId}/cancel': {
    answers: [202, 400, 401, 403, 404, 409, 413, 415, 429],
    scope: 'operate',
  },
  'POST /orders/{orderId}/reconcile': {
    answers: [202, 400, 401, 403, 404, 413, 415, 429],
    scope: 'operate',
  },
  'POST /orders/{orderId}/resolve': {
    answers: [202, 400, 401, 403, 404, 409, 413, 415, 429],
    scope: 'operate',
  },
  'GET /inventory/{sku}': { answers: [200, 400, 401, 403, 404, 429, 503], scope: 'operate' },
  'PUT /inventory/{sku}': { answers: [200, 400, 401, 403, 413, 415, 429, 503], scope: 'operate' },
  'GET /customers/{customerId}/points': {
    answers: [200, 400, 401, 403, 429, 503],
    scope: 'orders:read',
  },
  'GET /metrics': { answers: [200, 401, 403, 429], scope: 'metrics' },
  'GET /healthz': { answers: [200] },
};

/** `/orders/:orderId` (fastify) → `/orders/{orderId}` (OpenAPI). */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

function operations(doc: Doc): Map<string, Operation> {
  const ops = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(item ?? {}))
      ops.set(`${method.toUpperCase()} ${path}`, op as Operation);
  return ops;
}

/** The JSON Schema keywords these checks read. */
interface JsonSchema {
  required?: string[];
  additionalProperties?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  maxItems?: number;
}

const bodySchemaOf = (op: Operation) => {
  const body = op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
  return {
    required: body?.required,
    schema: body?.content['application/json']?.schema as JsonSchema | undefined,
  };
};

describe('the published contract: OpenAPI 3.1 at /openapi.json, its page at /docs', function () {
  this.timeout(60_000);
  let app: FastifyInstance;
  /** Each answer the API gave, by the route (as the document names it) that gave it. */
  const answered = new Map<string, Set<number>>();
  let doc: Doc;

  before(async () => {
    app = buildTestApi({ calls: [], logs: [] }, 1_000_000);
    app.addHook('onResponse', async (req, reply) => {
      // Unknown routes and the contract's own (hidden) routes are no operations of the document.
      if (!req.routeOptions.url || (req.routeOptions.schema as { hide?: boolean })?.hide) return;
      const route = `${req.method} ${openapiPath(req.routeOptions.url)}`;
      answered.set(route, (answered.get(route) ?? new Set()).add(reply.statusCode));
    });
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200, 'served without a key');
    doc = res.json<Doc>();
  });
  after(() => app.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
    assert.equal(validator.version, '3.1');
    assert.equal(doc.openapi, '3.1.0');
  });

  it('holds every route with its answers and the scope it needs, as bearer token or X-Api-Key', () => {
    assert.deepEqual(doc.components?.securitySchemes, {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key: `Authorization: Bearer <key>`',
      },
      apiKey: {
        type: 'apiKey',
        in: 'header',
        name: 'X-Api-Key',
        description: 'An API key: `X-Api-Key: <key>`',
      },
    });
    const ops = operations(doc);
    assert.deepEqual([...ops.keys()].sort(), Object.keys(ROUTES).sort());
    for (const [route, { answers, scope }] of Object.entries(ROUTES)) {
      const op = ops.get(route)!;
      const documented = Object.keys(op.responses ?? {}).map(Number);
      assert.deepEqual(
        documented.filter((s) => s !== 500).sort(),
        [...answers].sort(),
        `${route}'s answers`,
      );
      for (const status of documented)
        assert.notEqual(
          op.responses![status]!.description,
          'Default Response',
          `${route} ${status}`,
        );
      assert.deepEqual(
        op.security,
        scope ? [{ bearer: [scope] }, { apiKey: [scope] }] : [],
        `${route}'s security`,
      );
    }
  });

  it('describes the bodies as the API checks them: no unknown fields, an action may send none', () => {
    const ops = operations(doc);
    const order = bodySchemaOf(ops.get('POST /orders')!);
    assert.equal(order.required, true);
    assert.equal(order.schema?.additionalProperties, false);
    assert.deepEqual([...(order.schema?.required ?? [])].sort(), [
      'currency',
      'customerId',
      'items',
      'shippingAddress',
    ]);
    const items = order.schema?.properties?.items;
    assert.equal(items?.maxItems, 100);
    assert.equal(items?.items?.additionalProperties, false);
    // The wait a caller may ask for: a point in the query, a time in the Prefer header.
    const params = ops.get('POST /orders')!.parameters as OpenAPIV3_1.ParameterObject[];
    assert.deepEqual(
      params.map((p) => `${p.in} ${p.name}`),
      ['query wait', 'header idempotency-key', 'header prefer'],
    );
    assert.deepEqual((params[0]!.schema as { enum?: string[] }).enum, [
      'accepted',
      'paid',
      'shipped',
    ]);
    assert.match(String(params[2]!.description), /wait=N.*1…60 seconds/);
    for (const action of ['cancel', 'reconcile'])
      assert.equal(bodySchemaOf(ops.get(`POST /orders/{orderId}/${action}`)!).required, false);
    const resolve = bodySchemaOf(ops.get('POST /orders/{orderId}/resolve')!);
    assert.equal(resolve.required, true);
    assert.deepEqual(resolve.schema?.required, ['action']);
  });

  it('documents every answer the API gives to 3,000 generated invalid requests', async () => {
    const requests = fc.sample(
      invalidRequests({ client: CLIENT, operator: OPERATOR, codec: CODEC }),
      { numRuns: 3_000, seed: 18 },
    );
    for (const req of requests) {
      await app.inject({
        method: req.method,
        url: req.url,
        headers: req.headers,
        ...(req.payload !== undefined ? { payload: req.payload } : {}),
      });
    }
    const ops = operations(doc);
    for (const [route, statuses] of answered) {
      const documented = Object.keys(ops.get(route)?.responses ?? {}).map(Number);
      for (const status of statuses)
        assert.ok(documented.includes(status), `${route} answered ${status}, undocumented`);
    }
    assert.ok(answered.size >= 8, `routes exercised: ${[...answered.keys()].join(', ')}`);
  });

  it('serves the docs page and its assets itself, without a key, reading the same document', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'nothing fetched from elsewhere');
    const assets = [...page.body.matchAll(/(?:href|src)="\.\/([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(
      assets.some((a) => a.endsWith('swagger-ui-bundle.js')),
      page.body,
    );
    for (const asset of assets) {
      const res = await app.inject({ method: 'GET', url: `/docs/${asset}` });
      assert.equal(res.statusCode, 200, asset);
    }
    const initializer = await app.inject({
      method: 'GET',
      url: '/docs/static/swagger-initializer.js',
    });
    assert.match(initializer.body, /validatorUrl: null/, 'no call to validator.swagger.io');
    const json = await app.inject({ method: 'GET', url: '/docs/json' });
    assert.deepEqual(json.json(), doc);
    assert.equal((await app.inject({ method: 'GET', url: '/docs' })).statusCode, 200);
  });
});
