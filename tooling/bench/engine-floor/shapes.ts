/**
 * The workflow shapes `bench:engine` measures. Two do no more than Temporal's part of an order
 * (`start-and-complete`, `order-shaped`: activities that return at once); three are the ways a
 * service's reply could reach an order's workflow, each step answered by the replier:
 *
 * - `async-activity`: Shipshape's shape. An activity publishes and is left open; the reply completes it
 *   by its task token.
 * - `update`: a local activity publishes; the reply is a Workflow Update, acknowledged once accepted.
 * - `signal-local`: a local activity publishes; the reply is a signal.
 */
export const SHAPES = [
  'start-and-complete',
  'order-shaped',
  'async-activity',
  'update',
  'signal-local',
] as const;
export type Shape = (typeof SHAPES)[number];

/** The shapes whose steps the replier answers, and the one the others are compared with. */
export const DELIVERY_SHAPES: readonly Shape[] = ['async-activity', 'update', 'signal-local'];
export const BASELINE_SHAPE: Shape = 'async-activity';

/** A shape is adopted only if it raises the ceiling at least this much (and keeps every guarantee). */
export const ADOPTION_RATIO = 1.25;

/** The workflow type (tooling/bench/engine-floor/workflows.ts) and arguments of a shape. */
export function workflowOf(shape: Shape, steps: number): [string, unknown[]] {
  switch (shape) {
    case 'start-and-complete':
      return ['startAndComplete', []];
    case 'order-shaped':
      return ['orderShaped', [steps]];
    case 'async-activity':
      return ['asyncActivity', [steps]];
    case 'update':
      return ['replyByUpdate', [steps]];
    case 'signal-local':
      return ['replyBySignal', [steps]];
  }
}

export const shapeTitle = (shape: Shape, steps: number) =>
  shape === 'start-and-complete' ? shape : `${shape} (${steps} steps)`;

/**
 * Each order-shaped workflow's rate as a multiple of `async-activity`'s in the same run, to two
 * places; none without that baseline.
 */
export function ratiosToBaseline(
  perSec: Partial<Record<Shape, number>>,
): Partial<Record<Shape, number>> {
  const base = perSec[BASELINE_SHAPE];
  if (!base) return {};
  return Object.fromEntries(
    Object.entries(perSec)
      .filter(([s]) => s !== BASELINE_SHAPE && s !== 'start-and-complete')
      .map(([s, v]) => [s, Math.round((v / base) * 100) / 100]),
  );
}
