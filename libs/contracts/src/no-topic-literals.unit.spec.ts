import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EVENT_REGISTRY } from './registry';

const repoRoot = path.resolve(__dirname, '../../..');
const SCANNED = ['apps', 'libs', 'tools'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.nx', 'coverage']);
const CODE = /\.(ts|js|mjs|cjs)$/;

function* codeFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!SKIPPED_DIRS.has(name) && full !== path.join(repoRoot, 'libs/contracts')) yield* codeFiles(full);
    } else if (CODE.test(name)) {
      yield full;
    }
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('contracts are code', () => {
  it('no topic name or event type appears as a string literal outside libs/contracts', () => {
    const names = EVENT_REGISTRY.flatMap((e) => [e.contract.topic, e.contract.type, e.contract.ceType]);
    const literal = new RegExp(`['"\`](${names.map(escape).join('|')})['"\`]`);
    const offenders: string[] = [];
    for (const root of SCANNED) {
      for (const file of codeFiles(path.join(repoRoot, root))) {
        const lines = readFileSync(file, 'utf8').split('\n');
        lines.forEach((line, i) => {
          const match = literal.exec(line);
          if (match) offenders.push(`${path.relative(repoRoot, file)}:${i + 1}: ${match[1]}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});
