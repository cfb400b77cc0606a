import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { KERNEL_PROFILES } from '../../kernel/profiles.ts';
import { userSystem } from '../../pseries/systems.ts';
import { TREE_PROFILES } from '../../pseries/tree.ts';
import { problemResponses, Ref } from '../schemas/common.ts';
import { CreateSystemBody, ProfilesDoc, SystemDoc, SystemList } from '../schemas/lpars.ts';

export const catalogueRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/profiles',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'Kernel profiles (switch tables) and tree profiles',
        response: {
          200: Ref(ProfilesDoc),
        },
      },
    },
    async () => {
      const kernelProfiles = KERNEL_PROFILES.map((p) => ({ ...p }));
      // `items` is the deprecated alias of kernelProfiles (docs/api.md).
      return { kernelProfiles, treeProfiles: TREE_PROFILES.map((p) => ({ ...p })), items: kernelProfiles };
    },
  );
  app.get(
    '/v1/systems',
    { schema: { tags: ['catalogue'], summary: 'Managed systems', response: { 200: Ref(SystemList) } } },
    async () => ({
      items: [...app.registry.systems.values()],
    }),
  );
  app.get(
    '/v1/systems/:name',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'One managed system',
        params: Type.Object({ name: Type.String({ maxLength: 64 }) }),
        response: { 200: Ref(SystemDoc), ...problemResponses },
      },
    },
    async (req) => app.registry.system(req.params.name),
  );
  app.post(
    '/v1/systems',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'Add a managed system',
        body: CreateSystemBody,
        response: { 201: Ref(SystemDoc), 400: Type.Ref('Problem'), 409: Type.Ref('Problem') },
      },
    },
    async (req, reply) => {
      // The defaults for what the body leaves out are the model's (pseries/systems.ts).
      const system = app.registry.addSystem(userSystem(req.body));
      return reply.code(201).header('location', `/v1/systems/${system.name}`).send(system);
    },
  );
};
