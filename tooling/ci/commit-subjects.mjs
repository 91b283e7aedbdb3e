#!/usr/bin/env node
// Checks the subject line of every commit made since this check was added: at most 72 characters, in
// the imperative ("Add …", "Fix …", not "Added …", "Adding …", "docs: …"), the why left to the body.
// Older commits are left as they are. Exits 1 naming each subject that breaks a rule.
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAX = 72;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

/** Why a subject breaks the rules, or undefined. */
export function subjectProblem(subject) {
  if (subject.length > MAX) return `${subject.length} characters (at most ${MAX})`;
  if (/^Merge\b/.test(subject)) return undefined;
  const first = subject.split(/\s/)[0] ?? '';
  if (!/^[A-Z][a-z]+$/.test(first))
    return `starts with "${first}": start with a verb in the imperative, capitalised ("Add", "Fix")`;
  if (
    /(ed|ing)$/.test(first) &&
    !['Embed', 'Shed', 'Bring', 'Feed', 'Need', 'Seed', 'Speed'].includes(first)
  )
    return `starts with "${first}": the imperative ("Add", not "Added" or "Adding")`;
  if (/[.:]$/.test(subject)) return 'ends with punctuation';
  return undefined;
}

function main() {
  let since;
  try {
    since = git('log', '--diff-filter=A', '--format=%H', '--', 'tooling/ci/commit-subjects.mjs')
      .split('\n')
      .pop();
  } catch {
    since = undefined;
  }
  if (!since) {
    process.stdout.write(
      'commit subjects: this check is not in the history yet; nothing to check\n',
    );
    return 0;
  }
  const lines = git('log', '--format=%h%x09%s', `${since}^..HEAD`).split('\n').filter(Boolean);
  const bad = lines
    .map((l) => {
      const [hash, ...rest] = l.split('\t');
      const subject = rest.join('\t');
      return { hash, subject, problem: subjectProblem(subject) };
    })
    .filter((c) => c.problem);
  for (const c of bad) process.stderr.write(`${c.hash} "${c.subject}": ${c.problem}\n`);
  process.stdout.write(`commit subjects: ${lines.length} checked, ${bad.length} to fix\n`);
  return bad.length ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
