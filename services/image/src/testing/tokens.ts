// Tokens for unit tests: a TokenValidator that knows a fixed set of tokens, and the usual personas
// (Keystone gives member its implied reader role, so the contexts carry both).
import { UnauthorizedError } from '@alto/kernel';
import type { AuthContext, TokenValidator } from '@alto/http';

export interface Persona {
  userId: string;
  projectId?: string | undefined;
  roles: string[];
}

/** The image tests' cast: admin of project "admin", a member and a reader of project-a, a member of project-b. */
export const PERSONAS = {
  admin: { userId: 'u-admin', projectId: 'p-admin', roles: ['admin', 'member', 'reader'] },
  member: { userId: 'u-member', projectId: 'p-a', roles: ['member', 'reader'] },
  reader: { userId: 'u-reader', projectId: 'p-a', roles: ['reader'] },
  other: { userId: 'u-other', projectId: 'p-b', roles: ['member', 'reader'] },
} satisfies Record<string, Persona>;

export type PersonaName = keyof typeof PERSONAS;

export function authContextOf(p: Persona): AuthContext {
  return {
    userId: p.userId,
    userDomainId: 'default',
    projectId: p.projectId,
    projectDomainId: p.projectId ? 'default' : undefined,
    roles: p.roles,
    isAdminProject: p.roles.includes('admin'),
    serviceRoles: [],
  };
}

/** A validator for which token `x` is the persona `tokens[x]`; any other token is refused (401). */
export function staticTokenValidator(tokens: Record<string, Persona> = PERSONAS): TokenValidator {
  return {
    validate: async (token) => {
      const p = tokens[token];
      if (!p) throw new UnauthorizedError('The request you have made requires authentication.', 'auth.invalid_token');
      return authContextOf(p);
    },
  };
}
