import { temporal } from '@temporalio/proto';

/**
 * Which recorded histories a build may be handed, under Worker Versioning: a run pinned to a build
 * only ever meets that build's workers; a run that started before versioning, or one that
 * auto-upgrades, moves to whichever build is current at its next workflow task.
 */

type History = temporal.api.history.v1.IHistory;

/** The build a recorded run ran on, and whether it was pinned to it; undefined: unversioned. */
export interface RecordedBuild {
  buildId: string;
  pinned: boolean;
}

/** Read from the history itself: each completed workflow task names its worker's version. */
export function buildOf(history: History): RecordedBuild | undefined {
  for (const event of history.events ?? []) {
    const task = event.workflowTaskCompletedEventAttributes;
    const buildId = task?.deploymentVersion?.buildId;
    if (task && buildId)
      return {
        buildId,
        pinned:
          task.versioningBehavior ===
          temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
      };
  }
  return undefined;
}

/** Why a build may meet runs like this history, or undefined if it never does. */
export type Handed = 'unversioned' | 'auto-upgrade' | 'own-build';

export function whyHanded(
  recorded: RecordedBuild | undefined,
  buildId: string,
): Handed | undefined {
  if (!recorded) return 'unversioned';
  if (!recorded.pinned) return 'auto-upgrade';
  return recorded.buildId === buildId ? 'own-build' : undefined;
}

/** What to do when a history the build may be handed does not replay on it. */
export const WHAT_TO_DO: Record<Handed, string> = {
  unversioned:
    'runs like it started before Worker Versioning and move to the current build at their next ' +
    'workflow task: put the change behind patched() (docs/operations.md, "When patched() is still ' +
    'the tool"), or, once no unversioned run is open, move this history out of test/replay/histories/',
  'auto-upgrade':
    'auto-upgrade runs move to every new build: put the change behind patched() ' +
    '(docs/operations.md, "When patched() is still the tool")',
  'own-build':
    'it ran pinned to this very build id, which now names other code, and its runs would replay on ' +
    'it: give the changed code a build id of its own (unset SHIPSHAPE_BUILD_ID to derive one, or ' +
    'name a new release)',
};
