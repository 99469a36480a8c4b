/// <reference types="jest" />
import { statSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles } from '../generated-files';
import { GENERATED_DIRS, REPO_ROOT } from '../paths';
import { filesUnder, readRepoFile } from './manifests';

describe('committed generated files', () => {
  let expected: Map<string, string>;

  beforeAll(async () => {
    expected = await generatedFiles();
  });

  it('equal what the contracts and service declarations produce now (regenerate: npx nx run tools:generate-manifests)', () => {
    const stale = [...expected].filter(([file, content]) => {
      try {
        return readRepoFile(file) !== content;
      } catch {
        return true;
      }
    });
    expect(stale.map(([file]) => file)).toEqual([]);
  });

  it('contain nothing the generator no longer produces', () => {
    const committed = GENERATED_DIRS.flatMap((dir) => filesUnder(dir));
    expect(committed.filter((file) => !expected.has(file))).toEqual([]);
  });

  it('keep the compose topic script executable', () => {
    const scripts = [...expected.keys()].filter((file) => file.endsWith('.sh'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(statSync(path.join(REPO_ROOT, script)).mode & 0o111).not.toBe(0);
  });
});
