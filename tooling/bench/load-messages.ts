import type { ClientCost } from './client-cost';
import type { Target, Tracked } from './load';

/** What the bench and its load process (load-process.ts) say to each other over the IPC channel. */

/** The load's shape: open loop (`rate` orders/s for `durationMs`) or closed (`clients` posting `orders`). */
export type LoadShape =
  | { kind: 'open'; rate: number; durationMs: number }
  | { kind: 'closed'; orders: number; clients: number };

/** Bench → load process: one load against `target`, its orders' ids starting with `prefix`. */
export interface RunLoad {
  type: 'run';
  id: number;
  target: Target;
  prefix: string;
  query: string;
  shape: LoadShape;
}

/** Load process → bench. */
export type LoadReport =
  /** Once started: which Node runs the load, under what pid and nice value. */
  | { type: 'ready'; node: string; pid: number }
  /** Orders answered since the last report (every 100 ms while a load runs). */
  | { type: 'answered'; id: number; orders: Tracked[] }
  /** The load is over: every order answered (or given up on), the connections it opened, its cost. */
  | { type: 'done'; id: number; connectionsOpened: number; cost: ClientCost }
  | { type: 'failed'; id: number; error: string };
