import type { ApiKey } from './api-key.entity';
import type { User } from './user.entity';
import type { ApiKeyType, UserType } from './user.types';

export const toUserType = (u: User): UserType => ({ id: u.id, email: u.email, role: u.role, createdAt: u.createdAt });

export const toApiKeyType = (k: ApiKey): ApiKeyType => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt ?? null,
  revokedAt: k.revokedAt ?? null,
});
