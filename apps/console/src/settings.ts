import { type ConsoleConfig } from './config/console-config';
import type { Topology } from './topology/topology';

/** The configuration and the declared topology in the configured namespace, as one injectable. */
export class ConsoleSettings {
  constructor(
    readonly config: ConsoleConfig,
    readonly topology: Topology,
  ) {}
}
