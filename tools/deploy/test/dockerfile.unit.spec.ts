/// <reference types="jest" />
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { readRepoFile } from './manifests';
import { SERVICE_NODE_FLAGS } from '@platform/testing';

const text = readRepoFile('docker/Dockerfile');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();

/** The instructions of each stage, by stage name (everything after its FROM up to the next). */
function stages(): Map<string, Instruction[]> {
  const result = new Map<string, Instruction[]>();
  froms.forEach((from, i) => {
    const start = from.getRange().start.line;
    const end = froms[i + 1]?.getRange().start.line ?? Number.MAX_SAFE_INTEGER;
    result.set(from.getBuildStage() ?? String(i), instructions.filter((ins) => ins.getRange().start.line > start && ins.getRange().start.line < end));
  });
  return result;
}

const args = (ins: Instruction) => ins.getArgumentsContent() ?? '';
const ofKind = (list: Instruction[], keyword: string) => list.filter((ins) => ins.getKeyword() === keyword);
/** A COPY as `<source stage> <arguments>` (dockerfile-ast keeps flags apart from arguments). */
const copies = (list: Instruction[]) => ofKind(list, 'COPY').map((copy) => `${(copy as Copy).getFromFlag()?.getValue() ?? 'context'}: ${args(copy)}`);

describe('docker/Dockerfile', () => {
  const byStage = stages();
  const stageNames = [...byStage.keys()];
  const final = byStage.get(stageNames[stageNames.length - 1])!;

  it('is a multi-stage build: build, production dependencies, runtime', () => {
    expect(stageNames).toEqual(['build', 'deps', 'runtime']);
  });

  it('bases every stage on the slim (or distroless) image of the Node major pinned in .node-version', () => {
    const major = readRepoFile('.node-version').trim().split('.')[0];
    const base = dockerfile.getInitialARGs().find((arg) => arg.getProperty()?.getName() === 'NODE_IMAGE')?.getProperty()?.getValue();
    expect(base).toMatch(new RegExp(`^(node:${major}[\\w.-]*-slim|gcr\\.io/distroless/nodejs${major}[\\w.-]*)$`));
    for (const from of froms) expect(from.getImageName()).toBe('${NODE_IMAGE}');
  });

  it('takes the service as a build argument in every stage that uses it', () => {
    for (const [stage, list] of byStage) {
      const uses = list.some((ins) => /\$\{?SERVICE\b/.test(args(ins)));
      if (uses) expect({ stage, declares: ofKind(list, 'ARG').some((a) => args(a) === 'SERVICE') }).toEqual({ stage, declares: true });
    }
  });

  it('builds the service with nx in the build stage', () => {
    expect(ofKind(byStage.get('build')!, 'RUN').some((run) => /npx nx build "?\$SERVICE"?/.test(args(run)))).toBe(true);
  });

  it("installs only the production dependencies of the service's build output", () => {
    const deps = byStage.get('deps')!;
    expect(copies(deps)).toEqual(['build: /workspace/dist/apps/${SERVICE}/package.json /workspace/dist/apps/${SERVICE}/package-lock.json ./']);
    const installs = ofKind(deps, 'RUN').map(args);
    expect(installs.some((run) => /\bnpm ci\b.*--omit=dev/.test(run))).toBe(true);
  });

  it('copies into the runtime image only those dependencies and dist/apps/<service>', () => {
    expect(copies(final)).toEqual(['deps: /app/node_modules ./node_modules', 'build: /workspace/dist/apps/${SERVICE}/ ./']);
    expect(ofKind(final, 'RUN')).toEqual([]);
    expect(ofKind(final, 'ADD')).toEqual([]);
  });

  it('runs as a non-root user', () => {
    const users = ofKind(final, 'USER').map(args);
    expect(users).toHaveLength(1);
    const [user] = users[0].split(':');
    expect(user).not.toMatch(/^(0|root)$/);
    expect(Number(user)).toBeGreaterThan(0);
    // USER comes before the command it applies to.
    const userLine = ofKind(final, 'USER')[0].getRange().start.line;
    expect(ofKind(final, 'CMD').every((cmd) => cmd.getRange().start.line > userLine)).toBe(true);
  });

  it('starts node on the bundle directly, so the service itself receives SIGTERM, with the flags every service runs with', () => {
    expect(ofKind(final, 'CMD').map(args)).toEqual([JSON.stringify(['node', ...SERVICE_NODE_FLAGS, 'main.js']).replace(/","/g, '", "')]);
    expect(ofKind(final, 'ENV').map(args).join(' ')).toContain('NODE_ENV=production');
  });
});

describe('docker/Dockerfile.dockerignore', () => {
  const patterns = readRepoFile('docker/Dockerfile.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('keeps local state, build output, dependencies and secrets out of the build context', () => {
    for (const excluded of ['.git', '**/node_modules', 'dist', '.nx', '.kafka', '.run', '.env', '.env.*']) expect(patterns).toContain(excluded);
  });

  it('keeps what the build stage needs', () => {
    for (const needed of ['package.json', 'package-lock.json', 'nx.json', 'tsconfig.base.json', 'apps', 'libs', 'tools']) {
      expect(patterns.filter((p) => p === needed || needed.startsWith(`${p}/`) || p === '*')).toEqual([]);
    }
  });
});
