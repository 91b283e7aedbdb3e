import { z } from 'zod';
import { MAX_BODY_BYTES } from './bodies';
import { ORDER_STATUSES, SERVICES, STEP_STATES } from '../../domain/types';
import type { Scope } from '../../platform/security/api-keys';

/**
 * What the API answers, as zod schemas: each route names its answers from here, so the OpenAPI
 * document (/openapi.json) is made from the same schemas the answers are serialized with.
 */

const orderStatusSchema = z.enum(ORDER_STATUSES);

export const orderSummarySchema = z.object({
  orderId: z.string(),
  workflowId: z.string().describe('`order-<orderId>`: the order in the Temporal UI and CLI'),
  status: orderStatusSchema,
  links: z.object({
    self: z.string(),
    cancel: z.string(),
    reconcile: z.string(),
    temporalUi: z.string().describe("The order's run in the Temporal UI"),
  }),
});

const resultSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

const stepSchema = z.object({
  state: z.enum(STEP_STATES),
  commandId: z.string().optional(),
  sends: z
    .number()
    .int()
    .optional()
    .describe("How often the step's current command was published (re-sends included)"),
  detail: z.string().optional(),
  result: resultSchema.optional(),
  undone: resultSchema
    .optional()
    .describe("What the step's compensation did, as its service answered (refunded, cancelled, …)"),
});

export const orderDetailsSchema = orderSummarySchema.extend({
  customerId: z.string(),
  totalCents: z.number().int(),
  currency: z.string(),
  steps: z
    .object(
      Object.fromEntries(SERVICES.map((s) => [s, stepSchema])) as Record<
        (typeof SERVICES)[number],
        typeof stepSchema
      >,
    )
    .nullable()
    .describe('Each step of the saga; null until the workflow has run'),
  failureReason: z.string().nullable(),
  attention: z
    .string()
    .optional()
    .describe('Why the order waits for an operator (status NEEDS_ATTENTION)'),
  rejectedInputs: z
    .array(z.string())
    .optional()
    .describe(
      'Inputs sent to the running order that it refused (a reply, resolve or cancel it could not trust), newest last',
    ),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const stockSchema = z.object({
  sku: z.string(),
  available: z.number().int(),
  reserved: z.number().int(),
});

export const pointsSchema = z.object({ customerId: z.string(), points: z.number().int() });

export const healthSchema = z.object({ ok: z.literal(true) });

/** Every refusal: a stable `error` code and a message in Shipshape's own words (never the input). */
const refusalSchema = z.object({ error: z.string(), message: z.string() });

/** The refusals a route may give, each with what it means there. */
const REFUSALS = {
  400: refusalSchema
    .extend({
      issues: z
        .array(z.object({ field: z.string(), message: z.string() }))
        .optional()
        .describe(
          'Each bad field (of the path, the body and the headers) and what is wrong with it',
        ),
    })
    .describe('The request is not valid: `issues` names each bad field; nothing of it is echoed'),
  401: refusalSchema.describe('No API key, or an unknown one (with `WWW-Authenticate: Bearer`)'),
  403: refusalSchema.describe('The API key lacks the scope this route needs; the message names it'),
  404: refusalSchema.describe('No such order or SKU'),
  409: refusalSchema
    .extend({ status: orderStatusSchema })
    .describe('The order cannot do this now: the message says why, `status` is where it stands'),
  413: refusalSchema.describe(`The body is over ${MAX_BODY_BYTES} bytes`),
  415: refusalSchema.describe('The body is not JSON (`Content-Type: application/json`)'),
  429: refusalSchema.describe(
    "More requests this minute than the key's allowance; `Retry-After` says when to try again",
  ),
  500: refusalSchema.describe('Something failed inside; the request is safe to retry'),
  503: refusalSchema.describe(
    'The service that owns the answer did not answer in time (it may be down); `Retry-After` says when to try again',
  ),
} as const;

type Refusal = keyof typeof REFUSALS;

/** The refusals of a route with an API key: 401, 403 and 429 (the per-key rate), and 500. */
const KEYED = [401, 403, 429, 500] as const;

/** The answers of a route that wants an API key, the listed refusals besides those of every such route. */
export function refusals<C extends Refusal>(
  ...codes: C[]
): Pick<typeof REFUSALS, C | (typeof KEYED)[number]> {
  return Object.fromEntries([...KEYED, ...codes].map((c) => [c, REFUSALS[c]])) as Pick<
    typeof REFUSALS,
    C | (typeof KEYED)[number]
  >;
}

/** A route's body refusals: 400 (bad JSON or fields), 413 (too large) and 415 (not JSON). */
export const BODY_REFUSALS = [400, 413, 415] as const;

/** The security schemes of the OpenAPI document: the same API key, as a bearer token or a header. */
export const SECURITY_SCHEMES = {
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
} as const;

/** Either scheme, with the scope the route needs (OpenAPI 3.1 lets a non-OAuth scheme name roles). */
export const securedBy = (scope: Scope) =>
  Object.keys(SECURITY_SCHEMES).map((scheme) => ({ [scheme]: [scope] }));
