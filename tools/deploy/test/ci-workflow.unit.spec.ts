/// <reference types="jest" />
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../paths';
import { readYaml } from './manifests';

interface Step {
  uses?: string;
  run?: string;
  id?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string;
  if?: string;
  env?: Record<string, string>;
  steps: Step[];
  outputs?: Record<string, string>;
  strategy?: { matrix: Record<string, string> };
}
interface Workflow {
  on: Record<string, unknown>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

describe('.github/workflows/ci.yml', () => {
  const workflow = readYaml<Workflow>('.github/workflows/ci.yml');
  const affected = workflow.jobs['affected'];
  const images = workflow.jobs['images'];
  const stepIndex = (job: Job, test: (s: Step) => boolean) => job.steps.findIndex(test);

  it('runs on pull requests and on pushes to main, without the Nx daemon', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.env['NX_DAEMON']).toBe('false');
  });

  it('runs nx affected -t lint test build against the merge base set by nx-set-shas, with full history', () => {
    const checkout = affected.steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkout?.with?.['fetch-depth']).toBe(0);
    const setShas = stepIndex(affected, (s) => s.uses?.startsWith('nrwl/nx-set-shas@') ?? false);
    const run = stepIndex(affected, (s) => /npx nx affected -t [\w ]*\blint\b[\w ]*\btest\b[\w ]*\bbuild\b/.test(s.run ?? ''));
    expect(setShas).toBeGreaterThanOrEqual(0);
    expect(run).toBeGreaterThan(setShas);
    expect(affected.steps[run].run).toContain('--base="$NX_BASE" --head="$NX_HEAD"');
  });

  it('runs on the Node.js release pinned in .node-version, before installing anything', () => {
    const setupNode = stepIndex(affected, (s) => s.uses?.startsWith('actions/setup-node@') ?? false);
    const install = stepIndex(affected, (s) => /\bnpm (install|ci)\b/.test(s.run ?? ''));
    expect(affected.steps[setupNode]?.with).toMatchObject({ 'node-version-file': '.node-version' });
    expect(affected.steps[setupNode]?.with).not.toHaveProperty('node-version');
    expect(existsSync(path.join(REPO_ROOT, '.node-version'))).toBe(true);
    expect(install).toBeGreaterThan(setupNode);
  });

  it('gives the integration tests PostgreSQL and Kafka', () => {
    expect(affected.env?.['TEST_DATABASE_URL']).toMatch(/^postgres:\/\//);
    const kafka = stepIndex(affected, (s) => s.run === 'node tools/kafka/kafka.mjs start');
    const tests = stepIndex(affected, (s) => (s.run ?? '').includes('nx affected -t lint'));
    expect(kafka).toBeGreaterThanOrEqual(0);
    expect(kafka).toBeLessThan(tests);
  });

  it('lists the affected services with tools/deploy/affected-services.ts and builds an image for each', () => {
    const list = affected.steps.find((s) => s.id === 'services');
    expect(list?.run).toContain('tools/deploy/affected-services.ts --base="$NX_BASE" --head="$NX_HEAD"');
    expect(existsSync(path.join(REPO_ROOT, 'tools/deploy/affected-services.ts'))).toBe(true);
    expect(affected.outputs?.['services']).toBe('${{ steps.services.outputs.list }}');
    expect(images.needs).toBe('affected');
    expect(images.if).toBe("needs.affected.outputs.services != '[]'");
    expect(images.strategy?.matrix['service']).toBe('${{ fromJSON(needs.affected.outputs.services) }}');
    const build = images.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with).toMatchObject({ context: '.', file: 'docker/Dockerfile', 'build-args': 'SERVICE=${{ matrix.service }}' });
  });
});
