/**
 * Bearer-key authentication as a middy middleware. Keys are compared in
 * constant time (over their SHA-256 digests, so lengths leak nothing either)
 * and never logged. DELETE routes need the admin key. With no keys
 * configured the API is open: the local server allows that only on loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpError } from './errors.js';
import { header } from './http.js';

const digest = (s: string) => createHash('sha256').update(s).digest();
const matches = (given: Buffer, key: Buffer) => timingSafeEqual(given, key);

export interface AuthOptions {
  userKeys: readonly string[];
  adminKey: string | undefined;
}

export function authMiddleware(options: AuthOptions): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const users = options.userKeys.map(digest);
  const admin = options.adminKey ? digest(options.adminKey) : undefined;
  const open = users.length === 0 && !admin;
  const challenge = { 'www-authenticate': 'Bearer realm="evalap"' };

  return {
    before: function authMiddlewareBefore(request) {
      if (open) return;
      const method = request.event.requestContext?.http?.method;
      const path = request.event.requestContext?.http?.path ?? '';
      // Health and the API description are public, as load balancers and clients need them before any key.
      if (method === 'GET' && (path === '/health' || path === '/v1/openapi.json')) return;
      const value = header(request.event, 'authorization') ?? '';
      const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
      if (!m) throw new HttpError(401, 'missing bearer token: send "Authorization: Bearer <key>"', challenge);
      const given = digest(m[1]);
      // Check every key, always: the time taken does not depend on which one matched.
      const isAdmin = admin ? matches(given, admin) : false;
      const isUser = users.reduce((found, key) => matches(given, key) || found, false);
      if (!isAdmin && !isUser) throw new HttpError(401, 'invalid API key', challenge);
      if (method === 'DELETE' && !isAdmin) throw new HttpError(403, 'this route needs the admin key');
    },
  };
}
