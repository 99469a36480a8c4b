export * from './auth-settings';
export * from './caller';
export * from './auth.decorators';
export { AuthGuard, MissingToken, RefusedToken } from './auth.guard';
export { AuthErrorFilter } from './auth-error.filter';
export { TokenVerifier, InvalidToken, callerOf } from './token-verifier';
export { declareBearerSecurity, BEARER_SCHEME } from './openapi-security';
