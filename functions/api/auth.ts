/**
 * Bearer-key authentication as a middy middleware, before anything touches
 * the database. Keys are compared in constant time (over their SHA-256
 * digests, so lengths leak nothing either) and never logged. DELETE routes
 * need the admin key. With no keys configured the API is open: the local
 * server allows that only on loopback.
 *
 * `GET /health` and the API description are answered without a key; health
 * then reports the process alone (isAuthenticated tells the route), so an
 * uptime checker never wakes the database.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ApiKeys, ApiKeySource } from '../../core/api-keys.js';
import { isDocsPath } from './docs.js';
import { HttpError } from './errors.js';
import { header } from './http.js';

const digest = (s: string) => createHash('sha256').update(s).digest();
const matches = (given: Buffer, key: Buffer) => timingSafeEqual(given, key);

/** Paths answered without a key (and the documentation pages showing the API description: isDocsPath). */
const PUBLIC = new Set(['/health', '/v1/openapi.json', '/openapi.json']);

const authenticated = new WeakSet<APIGatewayProxyEventV2>();

/** Whether this request carried a valid key (or the API is open). */
export const isAuthenticated = (event: APIGatewayProxyEventV2) => authenticated.has(event);

interface Digests {
  users: Buffer[];
  admin: Buffer | undefined;
}

export function authMiddleware(keys: ApiKeySource): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const challenge = { 'www-authenticate': 'Bearer realm="evalap"' };
  // Digests of the keys last read, recomputed only when the source hands out new keys.
  let seen: ApiKeys | undefined;
  let digests: Digests = { users: [], admin: undefined };

  return {
    before: async function authMiddlewareBefore(request) {
      const method = request.event.requestContext?.http?.method;
      const path = request.event.requestContext?.http?.path ?? '';
      const isPublic = method === 'GET' && (PUBLIC.has(path) || isDocsPath(path));
      const value = header(request.event, 'authorization');
      // A public path without a key reads no secret: it is answered from the process alone.
      if (isPublic && value === undefined && keys.remote) return;
      const current = await keys.read();
      if (current !== seen) {
        seen = current;
        digests = { users: current.user.map(digest), admin: current.admin ? digest(current.admin) : undefined };
      }
      if (digests.users.length === 0 && !digests.admin) {
        authenticated.add(request.event);
        return;
      }
      const m = /^Bearer\s+(\S+)\s*$/i.exec(value ?? '');
      if (!m) {
        if (isPublic) return;
        throw new HttpError(401, 'missing bearer token: send "Authorization: Bearer <key>"', challenge);
      }
      const given = digest(m[1]);
      // Check every key, always: the time taken does not depend on which one matched.
      const isAdmin = digests.admin ? matches(given, digests.admin) : false;
      const isUser = digests.users.reduce((found, key) => matches(given, key) || found, false);
      if (!isAdmin && !isUser) throw new HttpError(401, 'invalid API key', challenge);
      if (method === 'DELETE' && !isAdmin) throw new HttpError(403, 'this route needs the admin key');
      authenticated.add(request.event);
    },
  };
}
