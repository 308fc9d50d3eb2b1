import { createHash, randomBytes } from 'node:crypto';

/** API keys look like `pk_<43 url-safe chars>`; the first 11 characters are the shown prefix. */
export const API_KEY_PREFIX = 'pk_';

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function generateApiKey(): { secret: string; prefix: string; hash: string } {
  const secret = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { secret, prefix: secret.slice(0, 11), hash: hashApiKey(secret) };
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}
