/// <reference types="jest" />
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../deploy/paths';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

describe('contracts:compat runs in CI', () => {
  it('in .ci/run, before the test suite', () => {
    const lines = read('.ci/run').split('\n');
    const compat = lines.findIndex((line) => /^[^#]*npx nx run contracts:compat\b/.test(line));
    expect(compat).toBeGreaterThanOrEqual(0);
    expect(compat).toBeLessThan(lines.findIndex((line) => /^npm test\b/.test(line)));
  });

  it('in the users\' workflow, against the merge base nx-set-shas found', () => {
    const workflow = parse(read('.github/workflows/ci.yml')) as { jobs: Record<string, { steps: { uses?: string; run?: string }[] }> };
    const steps = workflow.jobs['affected'].steps;
    const setShas = steps.findIndex((step) => step.uses?.startsWith('nrwl/nx-set-shas@'));
    const compat = steps.findIndex((step) => step.run === 'COMPAT_BASE="$NX_BASE" npx nx run contracts:compat');
    expect(setShas).toBeGreaterThanOrEqual(0);
    expect(compat).toBeGreaterThan(setShas);
  });
});
