/// <reference types="jest" />
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { satisfies } from 'semver';
import { binDir, engines, ENSURE_NODE, nodeClaiming, PINNED_VERSION, removeTempDirs, RUN_WITH_NODE, runScript, tempDir } from './ensure-node-harness';

// Pure logic: which node ensure-node.sh picks. `node`, `npm` and `uname` are stand-ins here;
// the real fetch from the registry is ensure-node.int.spec.ts.
const NPM_MUST_NOT_RUN = 'echo "npm $* was run" >&2; exit 3';

// Around every floor of the engines range (^22.22.3 || >=24.15.0), and far from them.
const ACCEPTED = ['22.22.3', '22.22.10', '22.30.0', '24.15.0', '24.22.3', '25.0.0', '26.1.0', '30.0.0'];
const REFUSED = ['22.22.2', '22.12.0', '23.11.0', '24.14.9', '24.0.0', '21.99.0', '20.20.2', '18.0.0'];

/** A cache holding the pinned release as a stand-in that answers `-v` with `version`. */
function cacheHolding(version: string): string {
  const cache = tempDir('ensure-node-cache');
  const bin = path.join(cache, PINNED_VERSION, 'bin');
  mkdirSync(bin, { recursive: true });
  cpSync(path.join(binDir({ node: `echo v${version}` }), 'node'), path.join(bin, 'node'));
  return cache;
}

describe('tools/node/ensure-node.sh', () => {
  afterAll(removeTempDirs);
  it('accepts exactly the releases package.json engines does', () => {
    expect({ accepted: ACCEPTED.filter((v) => !satisfies(v, engines())), refused: REFUSED.filter((v) => satisfies(v, engines())) }).toEqual({ accepted: [], refused: [] });
  });

  it.each(ACCEPTED)('keeps the node on PATH when it is %s (one engines accepts), fetching nothing', async (version) => {
    const onPath = binDir({ node: nodeClaiming(version), npm: NPM_MUST_NOT_RUN });
    const cache = path.join(tempDir('ensure-node-cache'), 'never-created');
    const outcome = await runScript(ENSURE_NODE, { firstOnPath: [onPath], cache });
    expect(outcome).toMatchObject({ code: 0, stdout: onPath });
    expect(existsSync(cache)).toBe(false);
  });

  it.each(REFUSED)('uses the pinned release already in the cache when the node on PATH is %s, without npm', async (version) => {
    const onPath = binDir({ node: nodeClaiming(version), npm: NPM_MUST_NOT_RUN });
    const cache = cacheHolding(PINNED_VERSION);
    const outcome = await runScript(ENSURE_NODE, { firstOnPath: [onPath], cache });
    expect(outcome).toMatchObject({ code: 0, stdout: path.join(cache, PINNED_VERSION, 'bin') });
  });

  it('treats a node on PATH that does not run as too old', async () => {
    const onPath = binDir({ node: 'echo "cannot execute binary file" >&2; exit 126', npm: NPM_MUST_NOT_RUN });
    const cache = cacheHolding(PINNED_VERSION);
    const outcome = await runScript(ENSURE_NODE, { firstOnPath: [onPath], cache });
    expect(outcome).toMatchObject({ code: 0, stdout: path.join(cache, PINNED_VERSION, 'bin') });
  });

  it('fetches again when the cached copy does not answer with the pinned version', async () => {
    const onPath = binDir({ node: nodeClaiming('20.20.2'), npm: NPM_MUST_NOT_RUN });
    const cache = cacheHolding('24.0.0-not-the-pin');
    const outcome = await runScript(ENSURE_NODE, { firstOnPath: [onPath], cache });
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toMatch(new RegExp(`npm pack --silent --ignore-scripts node-linux-\\w+@${PINNED_VERSION.replace(/\./g, '\\.')} was run`));
    // The failed attempt leaves no working directory behind.
    expect(readdirSync(cache)).toEqual([PINNED_VERSION]);
  });

  it('names the platform it has no package for instead of fetching', async () => {
    const onPath = binDir({ node: nodeClaiming('20.20.2'), npm: NPM_MUST_NOT_RUN, uname: '[ "$1" = -s ] && echo Darwin || echo arm64' });
    const outcome = await runScript(ENSURE_NODE, { firstOnPath: [onPath], cache: tempDir('ensure-node-cache') });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`no Node.js package for Darwin arm64: install a Node.js of ${engines()}`);
  });
});

describe('tools/node/run.sh', () => {
  afterAll(removeTempDirs);

  it('runs the command with the chosen node first on PATH and as NODE and npm_node_execpath', async () => {
    const onPath = binDir({ node: nodeClaiming('20.20.2'), npm: NPM_MUST_NOT_RUN });
    const cache = cacheHolding(PINNED_VERSION);
    const bin = path.join(cache, PINNED_VERSION, 'bin');
    const outcome = await runScript(RUN_WITH_NODE, { firstOnPath: [onPath], cache, args: ['sh', '-c', 'echo "$(command -v node) $(node -v) $NODE $npm_node_execpath"'] });
    expect(outcome).toMatchObject({ code: 0, stdout: `${bin}/node v${PINNED_VERSION} ${bin}/node ${bin}/node` });
  });
});
