// Node references as the runner resolves them, seen on the wire: `label` and `path` use only the two
// inspecting GETs (…/nodes/{address}, …/nodes?path=…), `phandle` the kernel caller's …/phandles/{p};
// gets and puts then act by address. Also: `lpar.switches` reach POST /v1/lpars.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { LparsimClient } from '../../src/client/client.ts';
import { type HttpRequest, injectTransport } from '../../src/client/transport.ts';
import { runScenario, type Scenario } from '../../src/scenario/runner.ts';
import { testApp } from '../helpers/app.ts';

const VTY = '/vdevice/vty@30000000';
const Q = encodeURIComponent(VTY);

let app: FastifyInstance;
let client: LparsimClient;
let seen: HttpRequest[];
before(async () => {
  ({ app } = await testApp());
  const inner = injectTransport(app);
  client = new LparsimClient((req) => {
    seen.push(req);
    return inner(req);
  });
});
after(() => app.close());

/** Requests as `METHOD path [body]`, LPAR ids, addresses and reference ids made generic. */
const wire = () =>
  seen.map((r) => {
    const body = typeof r.body === 'string' ? ` ${r.body}` : '';
    return `${r.method} ${r.path}${body}`
      .replace(/\/v1\/lpars\/[^/?]+/, '/v1/lpars/L')
      .replace(/c[0-9a-f]{15}/g, 'ADDR')
      .replace(/\/refs\/r\d+/, '/refs/R');
  });

describe('node references on the wire', () => {
  it('label and path only inspect; get and put act by address', async () => {
    seen = [];
    const scenario: Scenario = {
      name: 'selectors',
      kernels: ['5.8'],
      lpar: {},
      steps: [
        { do: 'label', node: { path: VTY }, as: 'v' },
        {
          do: 'expect',
          nodes: [
            { node: { label: 'v' }, state: 'attached' },
            { node: { path: VTY }, state: 'attached' },
          ],
        },
        { do: 'get', node: { path: VTY }, holder: 'probe', as: 'r' },
        { do: 'put', ref: 'r' },
        { do: 'get', node: { label: 'v' }, holder: 'probe' },
        { do: 'put', node: { label: 'v' }, holder: 'probe' },
      ],
    };
    const result = await runScenario(client, scenario, '5.8');
    assert.deepEqual(result.failures, []);
    const requests = wire();
    assert.match(requests.shift()!, /^POST \/v1\/lpars /);
    assert.deepEqual(requests, [
      `GET /v1/lpars/L/nodes?path=${Q}`,
      'GET /v1/lpars/L/nodes/ADDR',
      `GET /v1/lpars/L/nodes?path=${Q}`,
      `GET /v1/lpars/L/nodes?path=${Q}`,
      'POST /v1/lpars/L/refs {"node":{"address":"ADDR"},"holder":"probe"}',
      'DELETE /v1/lpars/L/refs/R',
      'POST /v1/lpars/L/refs {"node":{"address":"ADDR"},"holder":"probe"}',
      'POST /v1/lpars/L/refs/put {"node":{"address":"ADDR"},"holder":"probe"}',
      'DELETE /v1/lpars/L',
    ]);
  });

  it('phandle acts like a kernel caller: …/phandles/{phandle}, and get by phandle is the holder’s own lookup', async () => {
    const lpar = await client.createLpar({ kernel: '5.8' });
    // A node document gives the phandle as a user types it: 0x-hex.
    const hex = (await client.nodeByPath(lpar.id, VTY)).phandle;
    assert.match(hex, /^0x[0-9a-f]+$/);
    await client.deleteLpar(lpar.id);
    seen = [];
    const result = await runScenario(
      client,
      {
        name: 'phandle',
        kernels: ['5.8'],
        lpar: {},
        steps: [
          { do: 'expect', nodes: [{ node: { phandle: hex }, state: 'attached' }] },
          { do: 'get', node: { phandle: hex }, holder: 'probe' },
          { do: 'put', node: { phandle: hex }, holder: 'probe' },
        ],
      },
      '5.8',
    );
    assert.deepEqual(result.failures, []);
    const requests = wire().slice(1);
    assert.deepEqual(requests, [
      `GET /v1/lpars/L/phandles/${hex}`,
      `POST /v1/lpars/L/refs {"node":{"phandle":"${hex}"},"holder":"probe"}`,
      `GET /v1/lpars/L/phandles/${hex}`,
      'POST /v1/lpars/L/refs/put {"node":{"address":"ADDR"},"holder":"probe"}',
      'DELETE /v1/lpars/L',
    ]);
  });

  it('lpar.switches are sent with the LPAR it creates', async () => {
    seen = [];
    const result = await runScenario(
      client,
      {
        name: 'what-if',
        kernels: ['4.18'],
        lpar: { switches: { phandleCache: 'pow2-refs' } },
        steps: [{ do: 'expect', sysfs: { exists: ['/sys/firmware/devicetree/base/vdevice'] } }],
      },
      '4.18',
    );
    assert.deepEqual(result.failures, []);
    const create = seen[0]!;
    assert.equal(`${create.method} ${create.path}`, 'POST /v1/lpars');
    assert.deepEqual(JSON.parse(String(create.body)), {
      kernel: '4.18',
      profile: 'power9',
      switches: { phandleCache: 'pow2-refs' },
    });
  });
});
