import path from 'node:path';

/** The repository root, whether run by tsx from tools/deploy or by jest. */
export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Directories whose every file the generator writes: nothing in them is edited by hand. */
export const GENERATED_DIRS = ['k8s/base', 'k8s/generated', 'docker/generated'] as const;

export const ENVIRONMENTS = ['dev', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const SERVICE_CATALOG = 'tools/platform/services.json';
