import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../src/platform/paths';

describe('commit subjects, as the lint step checks them', () => {
  let problem: (subject: string) => string | undefined;
  before(async () => {
    const checker = (await import(
      pathToFileURL(path.join(projectRoot, 'tooling', 'ci', 'commit-subjects.mjs')).href
    )) as { subjectProblem: typeof problem };
    problem = checker.subjectProblem;
  });

  it('takes short subjects in the imperative, and merges', () => {
    for (const s of [
      'Seal personal data where it enters and open it only to ship',
      'Fix the relay',
      'Merge the deployment boundaries',
    ])
      assert.equal(problem(s), undefined, s);
  });

  it('names what is wrong with the others', () => {
    assert.match(problem('x'.repeat(73)) ?? '', /73 characters \(at most 72\)/);
    assert.match(problem('Added the relay') ?? '', /the imperative/);
    assert.match(problem('Adding the relay') ?? '', /the imperative/);
    assert.match(problem('docs/scaling.md: the figures') ?? '', /start with a verb/);
    assert.match(problem('Fix the relay.') ?? '', /punctuation/);
  });
});
