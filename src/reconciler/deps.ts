import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from '../platform/logger';
import type { OrderService } from '../orders/order-service';
import type { OrderWorkflowSettings } from '../../workflows/order-input';
import type { ReconcilerMetrics } from './metrics';
import type { AskService } from '../services/core/queries';

/** What the reconciler's rounds work with. */
export interface ReconcilerDeps {
  temporal: Client;
  pool: Pool;
  orders: OrderService;
  namespace: string;
  /** The order workflows' task queue: where a cleanup runs when the order's own runs are gone. */
  taskQueue: string;
  /** The settings a cleanup's commands are sent with, as an order's are. */
  workflowSettings: OrderWorkflowSettings;
  log: Logger;
  metrics?: ReconcilerMetrics;
  /** Asks a service what it holds of some orders: the reconciler reads no service's tables. */
  ask: AskService;
  /** The longest an order is meant to live (SHIPSHAPE_ORDER_LIFETIME_HOURS). */
  orderLifetimeHours: number;
}

/** The reconciler's limits. */
export interface ReconcilerSettings {
  /** How long an order may go without progress before it counts as stuck. */
  thresholdMs: number;
  /** How many orders one round acts on, in each of its checks. */
  maxPerRound: number;
  /** Cleanups started for one order before the reconciler gives up and asks a person. */
  maxCleanups: number;
  /** Workflow task attempts after which an open run is reported as failing. */
  failingTaskAttempts: number;
}

/** Orders a check looks up in Temporal at once. */
export const LOOKUPS_AT_ONCE = 8;
