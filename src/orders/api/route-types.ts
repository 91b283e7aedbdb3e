import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { requireScope } from '../../platform/security/http-auth';

/** The API with its routes' zod schemas as types: handlers get parsed input, answers are checked. */
export type ZodApi = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** The options of a route that wants a key with `scope`. */
export type RouteOptions = { preParsing: ReturnType<typeof requireScope> };
