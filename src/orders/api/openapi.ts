import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { SECURITY_SCHEMES } from './answers';

/** Where the contract is published: the OpenAPI document, and a page that reads it. */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

const DESCRIPTION = `Order fulfilment that does not lose, duplicate or reorder work.

Every route but \`/healthz\`, \`${OPENAPI_PATH}\` and \`${DOCS_PATH}\` wants an API key, sent as
\`Authorization: Bearer <key>\` or \`X-Api-Key: <key>\`, with the scope the route names:
\`orders:write\`, \`orders:read\`, \`operate\` or \`metrics\`. Bodies are JSON of at most 64 KiB with no unknown
fields; a refusal names each bad field and never quotes the input.`;

/** `/orders/:orderId` (fastify) → `/orders/{orderId}` (OpenAPI). */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/**
 * Makes the OpenAPI 3.1 document of every route registered after this, from the routes' own zod
 * schemas (fastify-type-provider-zod turns them into JSON Schema). Call before any route.
 */
export function describeRoutes(app: FastifyInstance, version: string): void {
  // Routes that take an empty body as `{}`: their body may be left out, unless `{}` is not enough
  // (fastify-swagger marks every body required).
  const optionalBodies = new Set<string>();
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Shipshape order service', version, description: DESCRIPTION },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: (doc) => {
      if (doc.route.config?.emptyBodyIsEmptyObject) {
        optionalBodies.add(`${String(doc.route.method).toLowerCase()} ${openapiPath(doc.url)}`);
      }
      return jsonSchemaTransform(doc);
    },
    transformObject: (doc) => {
      const spec = (doc as { openapiObject: OpenAPIV3_1.Document }).openapiObject;
      for (const [path, item] of Object.entries(spec.paths ?? {})) {
        for (const [method, op] of Object.entries(item ?? {})) {
          const body = (op as OpenAPIV3_1.OperationObject).requestBody;
          if (!body || !('content' in body) || !optionalBodies.has(`${method} ${path}`)) continue;
          // `{}` must also pass the body's schema (resolve's needs its `action`).
          const schema = body.content['application/json']?.schema as { required?: string[] };
          if (!schema?.required?.length) body.required = false;
        }
      }
      return spec;
    },
  });
}

/**
 * Publishes the document at /openapi.json and a page that reads it at /docs (Swagger UI, its assets
 * served from the package: the page fetches nothing from elsewhere). Both are public, like /healthz:
 * docs/security.md says why.
 */
export function publishContract(app: FastifyInstance): void {
  // The page reads the same document at /docs/json.
  void app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    theme: { title: 'Shipshape order service API' },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
