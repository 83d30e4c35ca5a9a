/** Token management, admins only (site-wide admins: an admin token has no department). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { badParameter, notFound } from '../errors.ts';
import { CSV_NOTE, LIST_PRODUCES, principalOf, type RouteContext, sendList } from '../reply.ts';
import {
  CreatedTokenSchema,
  errorResponses,
  NewTokenBody,
  TokenIdParams,
  TokenInfoSchema,
  TokenListSchema,
} from '../schemas.ts';
import { BOOTSTRAP_TOKEN_ID, type TokenStore } from '../tokens.ts';

export interface TokenRouteOptions extends RouteContext {
  readonly tokens: TokenStore;
}

export const tokenRoutes: FastifyPluginAsyncTypebox<TokenRouteOptions> = async (
  app,
  { facility, tokens },
) => {
  app.get(
    '/api/v1/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'The API tokens (never their secrets)',
        description: `The bootstrap admin token (FACILITY_ADMIN_TOKEN) is not listed.${CSV_NOTE}`,
        produces: LIST_PRODUCES,
        response: { 200: TokenListSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const items = tokens.list();
      return sendList(request, reply, { items }, items, 'tokens', TokenInfoSchema);
    },
  );

  app.post(
    '/api/v1/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Create a token; the answer holds it once',
        description:
          'Roles: admin (everything, tokens included), operator and viewer (read; operators will also ' +
          'acknowledge alerts). `department` limits an operator or viewer token to one department; an ' +
          'admin token is always site-wide. Only the SHA-256 of the token is stored.',
        body: NewTokenBody,
        response: { 201: CreatedTokenSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { name, role, department } = request.body;
      if (department !== undefined) {
        if (role === 'admin')
          throw badParameter('department', 'an admin token is site-wide; give no department');
        if (!facility.departments.some((d) => d.id === department)) {
          throw badParameter('department', `no department "${department}" in the facility`);
        }
      }
      const created = await tokens.create({
        name,
        role,
        ...(department === undefined ? {} : { department }),
        createdBy: principalOf(request).tokenId,
      });
      request.log.info({ tokenId: created.info.id, role, department }, 'token created');
      void reply.status(201).header('cache-control', 'no-store');
      return { token: created.token, ...created.info };
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token',
        description: 'It is refused (401) from then on. The bootstrap admin token cannot be revoked here.',
        params: TokenIdParams,
        response: {
          204: { type: 'null', description: 'Revoked.' },
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (id === BOOTSTRAP_TOKEN_ID) {
        throw badParameter(
          'id',
          'the bootstrap admin token comes from FACILITY_ADMIN_TOKEN; change it there',
        );
      }
      if (!(await tokens.revoke(id))) throw notFound('id', `no token "${id}"`);
      request.log.info({ tokenId: id }, 'token revoked');
      return reply.status(204).send();
    },
  );
};
