/**
 * Which command undoes which: the saga's compensations, the cleanup of a run that closed unfinished,
 * and the services' rule that an order once undone is never redone all read this one map.
 * Pure code without I/O: workflow code may import this file.
 */
import type { CommandType, StepName } from './types';

/** A command that makes an effect a compensation may have to undo. */
export type ForwardCommandType =
  'inventory.reserve' | 'payment.charge' | 'loyalty.award' | 'shipping.create';
/** A command that undoes one. */
export type UndoCommandType =
  'inventory.release' | 'payment.refund' | 'loyalty.reverse' | 'shipping.cancel';

/** Each forward command and the one that undoes it: every forward command has exactly one. */
export const UNDO_OF = {
  'inventory.reserve': 'inventory.release',
  'payment.charge': 'payment.refund',
  'loyalty.award': 'loyalty.reverse',
  'shipping.create': 'shipping.cancel',
} as const satisfies Record<ForwardCommandType, UndoCommandType>;

/** The undo of each step, by step: what a cleanup sends, newest step first. */
export const STEP_UNDO = {
  shipping: 'shipping.cancel',
  loyalty: 'loyalty.reverse',
  payment: 'payment.refund',
  inventory: 'inventory.release',
} as const satisfies Record<StepName, UndoCommandType>;

/** The steps in the order a compensation walks them: the newest effect is undone first. */
export const UNDO_ORDER = Object.keys(STEP_UNDO) as StepName[];

/**
 * The undo of a command that makes an effect at its service, including the commit that moves a
 * reservation out of stock for good (a release gives back what it would settle); undefined for an
 * undo itself.
 */
export function undoAtService(type: CommandType): UndoCommandType | undefined {
  if (type === 'inventory.commit') return 'inventory.release';
  return (UNDO_OF as Partial<Record<CommandType, UndoCommandType>>)[type];
}
