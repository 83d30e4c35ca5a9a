/** Users who sign in with a password: admins (site-wide) list, add and remove them. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NewUserBody, UserListSchema, UsernameParams, UserSchema } from '../alert-schemas.ts';
import { ApiError, badParameter, notFound } from '../errors.ts';
import { principalOf, type RouteContext } from '../reply.ts';
import { errorResponses } from '../schemas.ts';
import { checkNewUser, type User, UserError, type UserStore } from '../users.ts';

export interface UserRouteOptions extends RouteContext {
  readonly users: UserStore;
}

const json = (user: User) => ({ ...user, department: user.department ?? null });

export const userRoutes: FastifyPluginAsyncTypebox<UserRouteOptions> = async (app, { facility, users }) => {
  app.get(
    '/api/v1/users',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'The users who sign in with a password (never their passwords)',
        response: { 200: UserListSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async () => ({ users: (await users.list()).map(json) }),
  );

  app.post(
    '/api/v1/users',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Add a user',
        description:
          'Roles: admin (site-wide), operator (reads, acknowledges alerts), viewer (reads). `department` limits an ' +
          'operator or viewer to one department. The password (at least 10 characters) is kept as a scrypt hash.',
        body: NewUserBody,
        response: { 201: UserSchema, ...errorResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { username, password, role, department } = request.body;
      const wanted = { username, password, role, ...(department == null ? {} : { department }) };
      const problem = checkNewUser(
        wanted,
        facility.departments.map((d) => d.id),
      );
      if (problem) throw badParameter(problem.parameter ?? 'body', problem.message.replace(/^[a-z]+: /, ''));
      try {
        const user = await users.add({ ...wanted, createdBy: principalOf(request).name });
        request.log.info({ username, role, department }, 'user added');
        void reply.status(201);
        return json(user);
      } catch (error) {
        if (error instanceof UserError && error.code === 'EXISTS') {
          throw new ApiError(409, 'CONFLICT', error.message, 'username');
        }
        throw error;
      }
    },
  );

  app.delete(
    '/api/v1/users/:username',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Remove a user; their sessions end',
        params: UsernameParams,
        response: {
          204: { type: 'null', description: 'Removed.' },
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      if (!(await users.remove(username))) throw notFound('username', `no user "${username}"`);
      request.log.info({ username }, 'user removed');
      return reply.status(204).send();
    },
  );
};
