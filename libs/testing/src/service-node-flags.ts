import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './kafka';

/**
 * The V8 flags every service process runs with (tools/node/service-node-flags.json; the image's
 * CMD carries the same, checked by tools/deploy/test/dockerfile.unit.spec.ts): the young
 * generation capped at 16 MiB a semi-space. Left to itself, Node 24 sizes it from the machine's
 * memory (64 MiB a semi-space on a 24 GiB host), and a consumer decoding a backlog at full speed
 * grew the process by 90-130 MB of heap it did not keep (20 use cases catching up: +119-131 MB,
 * +60 MB with the cap). And the old generation grows by a fixed 20% over what a full GC keeps:
 * V8's own factor (up to 4x) let messages that outlived two scavenges while buffered pile up
 * as garbage until the heap had grown by 80 MB (one use case catching up: +130 MB, +28 MB with
 * the flag, 2026-12-01).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = JSON.parse(readFileSync(path.join(repoRoot(), 'tools/node/service-node-flags.json'), 'utf8')) as string[];
