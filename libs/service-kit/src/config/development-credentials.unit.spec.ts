import { developmentCredentialProblems, developmentCredentialsOf } from './development-credentials';

describe('development credentials', () => {
  it('recognises a role whose password is its own name, and the compose superuser', () => {
    expect(developmentCredentialsOf('postgres://users_svc:users_svc@127.0.0.1:5432/platform_users')).toBe('the development password of role users_svc (its own name)');
    expect(developmentCredentialsOf('postgresql://notifications_migrator:notifications_migrator@db/platform_notifications')).toMatch(/notifications_migrator/);
    expect(developmentCredentialsOf('postgres://postgres:postgres@postgres:5432/postgres')).toBe('the development password of role postgres (its own name)');
    expect(developmentCredentialsOf('postgres://app:postgres@db/x')).toBe('the development password "postgres" of role app');
  });

  it('leaves passwords of their own, URLs without one, and unparsable URLs alone', () => {
    expect(developmentCredentialsOf('postgres://users_svc:k9%2Fq7Zx@db/platform_users')).toBeUndefined();
    expect(developmentCredentialsOf('postgres://users_svc@db/platform_users')).toBeUndefined();
    expect(developmentCredentialsOf('not a url')).toBeUndefined();
  });

  it('reports problems only in production mode', () => {
    const urls = [{ variable: 'DATABASE_URL', url: 'postgres://u:u@db/x' }];
    expect(developmentCredentialProblems({ NODE_ENV: 'development' }, urls)).toEqual([]);
    expect(developmentCredentialProblems({}, urls)).toEqual([]);
    expect(developmentCredentialProblems({ NODE_ENV: 'production', DATABASE_URL: 'postgres://u:u@db/x' }, urls)).toEqual([
      'DATABASE_URL uses the development password of role u (its own name), refused with NODE_ENV=production: give the service a secret of its own',
    ]);
  });
});
