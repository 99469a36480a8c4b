/// <reference types="jest" />
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { binDir, ENSURE_NODE, nodeClaiming, PINNED_VERSION, removeTempDirs, runScript, tempDir } from './ensure-node-harness';

// The real fetch: npm pack of the pinned node-<os>-<arch> from the registry the machine's npm
// is configured with (served from npm's own cache after the first time), into a fresh cache.
describe('tools/node/ensure-node.sh fetching the pinned release', () => {
  afterAll(removeTempDirs);

  it('fetches it into the cache when the node on PATH is older; two runs racing end with one complete copy, then it is reused', async () => {
    const onPath = binDir({ node: nodeClaiming('20.20.2') });
    const cache = tempDir('ensure-node-cache');
    const expected = path.join(cache, PINNED_VERSION, 'bin');

    const racing = await Promise.all([runScript(ENSURE_NODE, { firstOnPath: [onPath], cache }), runScript(ENSURE_NODE, { firstOnPath: [onPath], cache })]);
    for (const outcome of racing) expect(outcome).toMatchObject({ code: 0, stdout: expected });
    expect(execFileSync(path.join(expected, 'node'), ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()).toBe(PINNED_VERSION);
    expect(racing.some((outcome) => outcome.stderr.includes(`fetching node-`))).toBe(true);
    // One finished copy, nothing nested in it, and the loser's working directory is gone.
    expect(readdirSync(cache)).toEqual([PINNED_VERSION]);
    expect(readdirSync(path.join(cache, PINNED_VERSION)).sort()).toEqual(['LICENSE', 'bin']);

    const again = await runScript(ENSURE_NODE, { firstOnPath: [onPath], cache });
    expect(again).toMatchObject({ code: 0, stdout: expected, stderr: '' });
  }, 180_000);
});
