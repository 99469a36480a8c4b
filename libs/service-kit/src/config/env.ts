/**
 * Reading configuration from the environment with errors that name the variable, what it
 * must be and what it was: a service refuses to start on bad configuration, and says why.
 */
export class ConfigurationError extends Error {
  readonly retriable = false;
  constructor(readonly problems: readonly string[]) {
    // One problem fits one line, which is what a log collector shows first.
    super(problems.length === 1 ? `Invalid configuration: ${problems[0]}` : `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string, fallback?: string, pattern?: { test: RegExp; description: string }): string {
    const value = this.env[name] ?? fallback;
    if (value === undefined || value === '') {
      this.problems.push(`${name} is required`);
      return '';
    }
    if (pattern && !pattern.test.test(value)) this.problems.push(`${name} must be ${pattern.description} (got "${value}")`);
    return value;
  }

  /** An optional value: empty string when unset, checked against `pattern` when set. */
  optional(name: string, pattern: { test: RegExp; description: string }): string {
    const value = this.env[name] ?? '';
    if (value !== '' && !pattern.test.test(value)) this.problems.push(`${name} must be ${pattern.description} (got "${value}")`);
    return value;
  }

  int(name: string, fallback: number, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  /** A number, fractions allowed (a ratio): `fallback` when unset. */
  number(name: string, fallback: number, { min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name} must be a number between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  url(name: string, fallback: string | undefined, protocols: readonly string[]): string {
    const value = this.string(name, fallback);
    if (!value) return value;
    try {
      const url = new URL(value);
      if (!protocols.includes(url.protocol)) this.problems.push(`${name} must be a ${protocols.join(' or ')} URL (got "${url.protocol}")`);
    } catch {
      this.problems.push(`${name} must be a URL (got "${value}")`);
    }
    return value;
  }

  list(name: string, fallback: string, item: { test: RegExp; description: string }): string[] {
    const values = (this.env[name] ?? fallback)
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    if (values.length === 0) this.problems.push(`${name} must list at least one value`);
    const bad = values.filter((v) => !item.test.test(v));
    if (bad.length > 0) this.problems.push(`${name} entries must be ${item.description} (got "${bad.join('", "')}")`);
    return values;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = (this.env[name] ?? fallback) as T;
    if (!allowed.includes(value)) this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
    return value;
  }

  /** A problem no single-variable check sees (a combination of variables, a development password in production): reported with the others. */
  refuse(problem: string): void {
    this.problems.push(problem);
  }

  /** Throws one ConfigurationError listing every problem found. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigurationError(this.problems);
  }
}
