/**
 * Which deployable apps (the services and the console) a change affects, from the Nx project graph:
 *   tsx tools/deploy/affected-services.ts [--base=<sha> --head=<sha> | --files=a,b]
 * prints a JSON array of app names (CI builds their images). Without arguments Nx takes
 * NX_BASE / NX_HEAD from the environment, as set by nrwl/nx-set-shas.
 */
import { execFileSync } from 'node:child_process';
import { catalogConsole, catalogServices } from './catalog/load-services';
import { REPO_ROOT } from './paths';

export function affectedServices(nxArgs: readonly string[] = []): string[] {
  const output = execFileSync(process.execPath, [require.resolve('nx/bin/nx.js'), 'show', 'projects', '--affected', '--type', 'app', '--json', ...nxArgs], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Nx may print notices before the JSON; the answer is the last line.
  const projects = JSON.parse(output.trim().split('\n').pop() ?? '[]') as string[];
  // Apps that are neither a service nor the console (the end-to-end tests) have no image.
  return [...catalogServices().map((s) => s.name), catalogConsole().name].filter((name) => projects.includes(name));
}

if (require.main === module) {
  process.stdout.write(`${JSON.stringify(affectedServices(process.argv.slice(2)))}\n`);
}
