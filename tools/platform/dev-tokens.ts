/**
 * Development tokens for `npm start` and the demo: signed with the development secret the
 * services use when no AUTH_* variable is set, valid for 30 days. Printed as JSON by
 * `tsx tools/platform/dev-tokens.ts`.
 */
import { DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, DEVELOPMENT_JWT_SECRET, OPERATOR_ROLE } from '@platform/service-kit';
import { TestTokens } from '@platform/testing';

const THIRTY_DAYS_S = 30 * 24 * 3600;

/** Fixed ids, so that a token printed by one `npm start` still names the same user the next time. */
export const DEMO_USERS = { ada: '0a0a0a0a-0000-4000-8000-00000000ada0', grace: '0a0a0a0a-0000-4000-8000-0000000a9ace' } as const;
export const DEV_OPERATOR_ID = '0a0a0a0a-0000-4000-8000-0000000000e0';

export const devTokens = new TestTokens(DEVELOPMENT_JWT_SECRET, DEVELOPMENT_ISSUER, DEVELOPMENT_AUDIENCE);

export function devUserToken(userId: string): string {
  return devTokens.token({ sub: userId, expiresInS: THIRTY_DAYS_S });
}

export function devOperatorToken(): string {
  return devTokens.token({ sub: DEV_OPERATOR_ID, roles: [OPERATOR_ROLE], expiresInS: THIRTY_DAYS_S });
}

if (require.main === module) {
  const users = Object.entries(DEMO_USERS).map(([name, id]) => ({ name, id, token: devUserToken(id) }));
  process.stdout.write(`${JSON.stringify({ operator: devOperatorToken(), users })}\n`);
}
