/// <reference types="jest" />
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../deploy/paths';
import { satisfies } from 'semver';
import { engines } from './ensure-node-harness';

describe('the Node.js the platform runs on', () => {
  it('is the one these tests run on: one package.json engines accepts (npm test goes through tools/node/run.sh)', () => {
    // A failure here means the run started on an older node: run it as `npm test`, or as
    // `bash tools/node/run.sh npx nx ...`, which puts a supported node first on PATH.
    expect({ node: process.versions.node, supported: satisfies(process.versions.node, engines()) }).toEqual({ node: process.versions.node, supported: true });
  });

  it('is part of every Nx cache key, so results cached on another node are not replayed', () => {
    const nx = JSON.parse(readFileSync(path.join(REPO_ROOT, 'nx.json'), 'utf8')) as { namedInputs: Record<string, unknown[]> };
    expect(nx.namedInputs['sharedGlobals']).toContainEqual({ runtime: 'node -v' });
    expect(nx.namedInputs['default']).toContain('sharedGlobals');
  });

  it('is put first on PATH for every command of every package.json script', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const commands = Object.entries(scripts).flatMap(([name, script]) => script.split('&&').map((command) => ({ name, command: command.trim() })));
    expect(commands.filter(({ command }) => !command.startsWith('bash tools/node/run.sh '))).toEqual([]);
    expect(commands.length).toBeGreaterThan(Object.keys(scripts).length);
  });
});
