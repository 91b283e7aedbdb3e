import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { describeIssues } from '../../domain/schemas';

export interface Issue {
  field: string;
  message: string;
}

/** The 400 body: `{ error, message, issues: [{ field, message }] }`, naming each bad field, echoing no value. */
export function badRequest(issues: Issue[]) {
  return {
    error: 'invalid_request',
    message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  };
}

/** The parts of a request a route's schema may check, in the order fastify checks them. */
const PARTS = ['params', 'body', 'querystring', 'headers'] as const;

/** `idempotency-key` (as fastify holds headers) → `Idempotency-Key` (as the contract names it). */
const headerName = (field: string) =>
  field.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

/**
 * Every bad field of a request that failed its route's schema. Fastify stops at the first part that
 * fails (params before body before headers); the caller should hear of all of them at once, so each
 * part is checked again here, against the same zod schema. Runs only for a refused request.
 */
export function describeRequestIssues(req: FastifyRequest): Issue[] {
  const schema = req.routeOptions.schema ?? {};
  const issues = PARTS.flatMap((part) => {
    const partSchema = schema[part];
    if (!(partSchema instanceof z.ZodType)) return [];
    const value = part === 'querystring' ? req.query : req[part];
    // Fastify hands a missing part to the validator as null; do the same.
    const r = partSchema.safeParse(value === undefined ? null : value);
    if (r.success) return [];
    const found = describeIssues(r.error);
    return part === 'headers' ? found.map((i) => ({ ...i, field: headerName(i.field) })) : found;
  });
  // Fastify refused what the schemas accept on a second look: say so rather than name nothing.
  return issues.length ? issues : [{ field: '(request)', message: 'is not valid' }];
}
