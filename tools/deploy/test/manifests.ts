import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT, type Environment } from '../paths';

export type Resource = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

export function readRepoFile(relative: string): string {
  return readFileSync(path.join(REPO_ROOT, relative), 'utf8');
}

/** Every non-empty YAML document of a text; a YAML error fails loudly. */
export function parseDocuments(text: string, origin: string): Resource[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Resource | null;
    return value ? [value] : [];
  });
}

export function readDocuments(relative: string): Resource[] {
  return parseDocuments(readRepoFile(relative), relative);
}

/** One YAML file parsed with merge keys (`<<: *anchor`), as docker compose reads it. */
export function readYaml<T>(relative: string): T {
  return parse(readRepoFile(relative), { merge: true }) as T;
}

export function filesUnder(relative: string): string[] {
  const dir = path.join(REPO_ROOT, relative);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const child = path.join(relative, name);
    return statSync(path.join(REPO_ROOT, child)).isDirectory() ? filesUnder(child) : [child];
  });
}

export function byKind(resources: readonly Resource[], kind: string): Resource[] {
  return resources.filter((r) => r.kind === kind);
}

export function single(resources: readonly Resource[], kind: string): Resource {
  const found = byKind(resources, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

/** `kubectl kustomize` of one overlay: the exact resources `kubectl apply -k` would send. */
export function kustomizeBuild(environment: Environment, service: string): Resource[] {
  const overlay = `k8s/overlays/${environment}/${service}`;
  let output: string;
  try {
    output = execFileSync(KUBECTL, ['kustomize', overlay], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new Error(`kubectl is not on PATH (or KUBECTL): these tests build every overlay with \`kubectl kustomize\` (kubectl >= 1.27 bundles kustomize v5). Install kubectl to run them.`);
    }
    throw new Error(`kubectl kustomize ${overlay} failed:\n${failure.stderr ?? failure.message}`);
  }
  return parseDocuments(output, overlay);
}
