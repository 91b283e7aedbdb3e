/**
 * An order workflow with a bug, for the test that a run whose workflow tasks keep failing is reported
 * and never undone while open: a plain error fails the workflow task (Temporal retries it), not the run.
 */
export async function orderFulfillment(): Promise<never> {
  throw new Error('a bug in the workflow code');
}
