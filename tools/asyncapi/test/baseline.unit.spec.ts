/// <reference types="jest" />
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readBaseline } from '../compat/baseline';

describe('readBaseline', () => {
  let repo: string;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();

  beforeAll(() => {
    repo = mkdtempSync(path.join(tmpdir(), 'compat-baseline-'));
    git('init', '-q');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'test');
    writeFileSync(path.join(repo, 'README'), 'x');
    git('add', 'README');
    git('commit', '-q', '-m', 'before the document');
    writeFileSync(path.join(repo, 'doc.yaml'), 'committed: 1\n');
    git('add', 'doc.yaml');
    git('commit', '-q', '-m', 'the document');
    writeFileSync(path.join(repo, 'doc.yaml'), 'edited: 2\n');
  });

  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('reads the working tree without a revision', () => {
    expect(readBaseline(repo, 'doc.yaml', undefined)).toEqual({ origin: 'doc.yaml', text: 'edited: 2\n' });
  });

  it('reads the document as committed at a revision, whatever the working tree holds', () => {
    expect(readBaseline(repo, 'doc.yaml', 'HEAD')).toEqual({ origin: `doc.yaml at HEAD (${git('rev-parse', 'HEAD').slice(0, 12)})`, text: 'committed: 1\n' });
  });

  it('has no baseline at a revision before the document existed, or without the file', () => {
    expect(readBaseline(repo, 'doc.yaml', 'HEAD~1').text).toBeUndefined();
    expect(readBaseline(repo, 'missing.yaml', undefined).text).toBeUndefined();
  });

  it('refuses a revision git does not know, rather than compare with nothing', () => {
    expect(() => readBaseline(repo, 'doc.yaml', 'no-such-rev')).toThrow();
  });
});
