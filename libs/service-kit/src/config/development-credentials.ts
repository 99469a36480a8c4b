/**
 * The database passwords this repository hands out for development: `npm start`, the compose
 * stack and the test platforms give every role its own name as password (users_svc:users_svc,
 * users_migrator:users_migrator), and compose's superuser is postgres:postgres. Anyone who has
 * read the repository knows them, so a service in production mode must not run on one.
 */
const WELL_KNOWN_PASSWORDS = new Set(['postgres']);

/** Whether NODE_ENV says production: the images set it (docker/Dockerfile). */
export function isProductionMode(env: Readonly<Record<string, string | undefined>>): boolean {
  return env['NODE_ENV'] === 'production';
}

/**
 * Why the URL's credentials are the development ones, or undefined when they are not (a
 * password of its own, or none: a password file, a certificate). Unparsable URLs are left to
 * the URL check.
 */
export function developmentCredentialsOf(databaseUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return undefined;
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  if (password === '') return undefined;
  if (password === user) return `the development password of role ${user} (its own name)`;
  if (WELL_KNOWN_PASSWORDS.has(password)) return `the development password "${password}" of role ${user}`;
  return undefined;
}

/**
 * In production mode, one problem per variable whose database URL carries a development
 * password (an unset variable falling back to the development default included); none otherwise.
 */
export function developmentCredentialProblems(
  env: Readonly<Record<string, string | undefined>>,
  databaseUrls: readonly { readonly variable: string; readonly url: string }[],
): string[] {
  if (!isProductionMode(env)) return [];
  return databaseUrls.flatMap(({ variable, url }) => {
    const credentials = developmentCredentialsOf(url);
    if (!credentials) return [];
    const source = env[variable] ? `${variable} uses` : `${variable} is unset and its default uses`;
    return [`${source} ${credentials}, refused with NODE_ENV=production: give the service a secret of its own`];
  });
}
