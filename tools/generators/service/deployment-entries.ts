import { updateJson, type Tree } from '@nx/devkit';

import { readSource } from '../shared/register';

/**
 * The hand-written deployment files that name each service: compose (a service block, and the
 * console's dependency and URL), the Dockerfile's usage hint, and the kustomize overlays. What
 * tools/deploy generates (bases, topics, Kafka users, databases) is regenerated instead.
 */
const COMPOSE = 'docker/compose.yaml';
const DOCKERFILE = 'docker/Dockerfile';

function insertBefore(file: string, source: string, anchor: RegExp, text: string): string {
  const match = anchor.exec(source);
  if (!match) throw new Error(`${file}: cannot find ${anchor} to add the service next to`);
  return source.slice(0, match.index) + text + source.slice(match.index);
}

/** The same block as every service of docker/compose.yaml: image, both database URLs as the init script creates them, health check. */
function composeService(name: string, port: number): string {
  return `  ${name}:
    <<: *service
    build:
      context: ..
      dockerfile: docker/Dockerfile
      args:
        SERVICE: ${name}
    image: platform-${name}
    environment:
      <<: *service-environment
      PORT: "${port}"
      DATABASE_URL: postgres://${name}_svc:${name}_svc@postgres:5432/platform_${name}
      MIGRATION_DATABASE_URL: postgres://${name}_migrator:${name}_migrator@postgres:5432/platform_${name}
    ports:
      - "${port}:${port}"
    healthcheck:
      test: ["CMD", "node", "-e", "Promise.all([fetch('http://127.0.0.1:${port}/health/live'), fetch('http://127.0.0.1:${port}/health/ready')]).then((rs) => process.exit(rs.every((r) => r.ok) ? 0 : 1), () => process.exit(1))"]
      interval: 5s
      timeout: 3s
      retries: 30
      start_period: 30s

`;
}

export function addComposeService(tree: Tree, name: string, port: number): void {
  let compose = readSource(tree, COMPOSE);
  if (new RegExp(`^  ${name}:$`, 'm').test(compose)) throw new Error(`${COMPOSE} already has a service ${name}`);
  compose = insertBefore(COMPOSE, compose, /^ {2}console:\n/m, composeService(name, port));
  // The console starts once every service is healthy and reaches each by its compose name.
  const consoleAt = compose.indexOf('\n  console:\n');
  const dependsOn = /^ {4}depends_on:\n(?: {6}.*\n)+/m;
  const tail = compose.slice(consoleAt);
  const deps = dependsOn.exec(tail);
  if (!deps) throw new Error(`${COMPOSE}: the console has no depends_on`);
  const depsEnd = consoleAt + deps.index + deps[0].length;
  compose = compose.slice(0, depsEnd) + `      ${name}:\n        condition: service_healthy\n` + compose.slice(depsEnd);
  const urls = /^ {6}[A-Z0-9_]+_URL: http:\/\/.*\n(?! {6}[A-Z0-9_]+_URL:)/m;
  const lastUrl = urls.exec(compose.slice(consoleAt));
  if (!lastUrl) throw new Error(`${COMPOSE}: the console lists no <SERVICE>_URL`);
  const urlsEnd = consoleAt + lastUrl.index + lastUrl[0].length;
  compose = compose.slice(0, urlsEnd) + `      ${name.toUpperCase()}_URL: http://${name}:${port}\n` + compose.slice(urlsEnd);
  tree.write(COMPOSE, compose);
}

/** The build argument's usage hint lists the services an image can be built for. */
export function addDockerfileService(tree: Tree, name: string): void {
  const dockerfile = readSource(tree, DOCKERFILE);
  const hint = /--build-arg SERVICE=<([a-z0-9|]+)>/;
  const match = hint.exec(dockerfile);
  if (!match) throw new Error(`${DOCKERFILE}: cannot find the SERVICE usage hint`);
  const list = match[1].split('|');
  if (list.includes(name)) return;
  const console = list.indexOf('console');
  list.splice(console < 0 ? list.length : console, 0, name);
  tree.write(DOCKERFILE, dockerfile.replace(hint, `--build-arg SERVICE=<${list.join('|')}>`));
}

/** One deployable unit per environment: the generated base plus the environment's component (README "Kubernetes"). */
export function addOverlays(tree: Tree, name: string): void {
  for (const env of ['dev', 'prod']) {
    tree.write(
      `k8s/overlays/${env}/${name}/kustomization.yaml`,
      `# ${name} in ${env}: kubectl apply -k k8s/overlays/${env}/${name}
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: platform
resources:
  - ../../../base/${name}
components:
  - ../../../components/${env}
`,
    );
  }
}

/** The npm workspace entries `npm install` would write, so the lockfile stays in step with apps/<name>/package.json. */
export function addLockfileWorkspace(tree: Tree, name: string): void {
  if (!tree.exists('package-lock.json')) return;
  updateJson(tree, 'package-lock.json', (lock: { packages: Record<string, unknown> }) => {
    const added: Record<string, unknown> = {
      [`apps/${name}`]: { name: `@platform/${name}`, version: '0.0.0' },
      [`node_modules/@platform/${name}`]: { resolved: `apps/${name}`, link: true },
    };
    const entries = Object.entries(lock.packages).filter(([key]) => !(key in added));
    for (const [key, value] of Object.entries(added)) {
      // npm keeps the packages sorted by path after the root ('').
      const at = entries.findIndex(([other], i) => i > 0 && other > key);
      entries.splice(at < 0 ? entries.length : at, 0, [key, value]);
    }
    return { ...lock, packages: Object.fromEntries(entries) };
  });
}

/**
 * tools/platform/services.json keeps one service a line; the entry is added as text in that
 * style (updateJson would rewrite the whole file), then checked by parsing.
 */
export function addCatalogEntry(tree: Tree, name: string, port: number): void {
  const file = 'tools/platform/services.json';
  const source = readSource(tree, file);
  const list = /("services": \[\n(?: {4}\{.*\},?\n)*? {4}\{.*\})(\n {2}\])/.exec(source);
  const edited = list ? source.replace(list[0], `${list[1]},\n    { "name": "${name}", "port": ${port} }${list[2]}`) : undefined;
  const parsed = edited ? (JSON.parse(edited) as { services: { name: string; port: number }[] }) : undefined;
  if (edited && parsed?.services.at(-1)?.name === name) tree.write(file, edited);
  else updateJson(tree, file, (json: { services: { name: string; port: number }[] }) => ({ ...json, services: [...json.services, { name, port }] }));
}

/** Puts the service before "console" in every project list of a project.json (the end-to-end project builds and depends on them all). */
export function addBeforeConsole(tree: Tree, file: string, name: string): void {
  const source = readSource(tree, file);
  const edited = source.replace(/"console"\]/g, `"${name}", "console"]`);
  const json = JSON.parse(edited) as { implicitDependencies: string[]; targets: { e2e: { dependsOn: { projects: string[] }[] } } };
  if (!json.implicitDependencies.includes(name) || !json.targets.e2e.dependsOn[0].projects.includes(name)) {
    throw new Error(`${file}: cannot add ${name} to implicitDependencies and the e2e build dependencies (expected lists ending with "console")`);
  }
  tree.write(file, edited);
}
