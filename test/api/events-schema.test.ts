// Every SSE event type has its own closed schema, discriminated by `type` (issue 12, point 2): the
// events a rich history really emits validate against the union, every type the model's source
// emits is in the list and the list in docs/events.md, and the other way round.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { EVENT_SCHEMAS, EVENT_TYPE_NAMES, LparEventSchema } from '../../src/http/schemas/events.ts';
import { ofdtWrite, testApp } from '../helpers/app.ts';
import { overlayBlob } from '../helpers/overlays.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The types the model emits: every `emit({ type: '…'` and the registry's last events. */
function emittedTypes(): Set<string> {
  const types = new Set<string>();
  for (const file of sourceFiles(join(ROOT, 'src')).filter((f) => !f.includes('/http/'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/emit\(\{\s*type: '([^']+)'/g)) types.add(m[1]!);
    for (const m of text.matchAll(/type: '(lpar\.[a-z]+)'/g)) types.add(m[1]!);
    // A migration's last event is named after the state it ended in (lpar/migrations.ts).
    if (/type: `migration\.\$\{migration\.state\}`/.test(text))
      for (const state of ['completed', 'failed']) types.add(`migration.${state}`);
  }
  return types;
}

describe('event schemas', () => {
  it('list every type the model emits, and no other', () => {
    assert.deepEqual([...emittedTypes()].sort(), [...EVENT_TYPE_NAMES].sort());
  });

  it('are each described in docs/events.md, which describes no other', () => {
    const doc = readFileSync(join(ROOT, 'docs/events.md'), 'utf8');
    const documented = [...doc.matchAll(/^### `([^`]+)`/gm)].map((m) => m[1]!);
    assert.deepEqual([...documented].sort(), [...EVENT_TYPE_NAMES].sort());
  });

  it('validate every event of a history with migrations, edits, references, an overlay, DLPAR writes, an oops and a reboot', async () => {
    const { app } = await testApp();
    try {
      for (const [name, kernel] of [
        ['a', '4.18'],
        ['b', '5.16'],
      ] as const) {
        await app.inject({
          method: 'POST',
          url: '/v1/lpars',
          payload: { kernel, name, options: { kasan: true, spareCores: 1 } },
        });
        for (const destination of ['p9-beta', 'p9-alpha', 'p9-beta'])
          await app.inject({ method: 'POST', url: `/v1/lpars/${name}/migrations`, payload: { destination } });
        await ofdtWrite(app, name, 'add_node /vdevice/e@1 name 2 e\0 compatible 2 e\0');
        await ofdtWrite(app, name, 'add_node /no/parent@1 name 2 e\0'); // an oops: the writer is killed
        await app.inject({
          method: 'POST',
          url: `/v1/lpars/${name}/refs/put`,
          payload: { node: { path: '/cpus' }, holder: 'nobody' },
        });
        const property = { phandle: '0xfffffff7', property: { name: 'example', u32: [1] } };
        await app.inject({ method: 'POST', url: `/v1/lpars/${name}/properties`, payload: property });
        await app.inject({
          method: 'DELETE',
          url: `/v1/lpars/${name}/properties?phandle=0xfffffff7&name=example`,
        });
        await app.inject({ method: 'POST', url: `/v1/lpars/${name}/phandle-cache/rebuild` });
        // A DLPAR core added and removed: dlpar.written, after the attach and detach events.
        for (const command of ['cpu add index 0x10000008', 'cpu remove index 0x10000008'])
          assert.equal(
            (
              await app.inject({
                method: 'POST',
                url: `/v1/lpars/${name}/sys/kernel/dlpar`,
                headers: { 'content-type': 'text/plain' },
                payload: command,
              })
            ).statusCode,
            200,
            command,
          );
        // The l-lan slot's vio device unregistered and registered again: slot.written after each.
        const lan = (
          await app.inject({ url: `/v1/lpars/${name}/nodes?path=/vdevice/l-lan@30000002` })
        ).json() as { properties: Array<{ name: string; value?: unknown }> };
        const drcName = String(lan.properties.find((p) => p.name === 'ibm,loc-code')?.value);
        for (const file of ['remove_slot', 'add_slot'])
          assert.equal(
            (
              await app.inject({
                method: 'POST',
                url: `/v1/lpars/${name}/sys/bus/pci/slots/control/${file}`,
                headers: { 'content-type': 'text/plain' },
                payload: drcName,
              })
            ).statusCode,
            200,
            `${file} ${drcName}`,
          );
        await app.inject({
          method: 'POST',
          url: `/v1/lpars/${name}/overlays`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: overlayBlob('by-path'),
        });
        await app.inject({ method: 'DELETE', url: `/v1/lpars/${name}/overlays/1` });
        await app.inject({ method: 'POST', url: `/v1/lpars/${name}/reboot` });
      }
      await app.inject({ method: 'DELETE', url: '/v1/lpars/b' });
      const res = await app.inject({ url: '/v1/events?follow=false' });
      const events = res.body
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as { type: string });
      const ajv = new Ajv({ strict: false });
      for (const s of EVENT_SCHEMAS) ajv.addSchema(s);
      const validate = ajv.compile(LparEventSchema);
      const seen = new Set<string>();
      for (const e of events) {
        assert.ok(validate(e), `${JSON.stringify(e)}: ${ajv.errorsText(validate.errors)}`);
        seen.add(e.type);
      }
      // The history reaches most types: a schema no event of it checks is named here.
      assert.ok(seen.has('dlpar.written'), 'the DLPAR writes were validated');
      assert.ok(seen.has('slot.written') && seen.has('vio.unregistered'), 'the slot writes were validated');
      const unseen = EVENT_TYPE_NAMES.filter((t) => !seen.has(t));
      assert.ok(unseen.length <= 6, `types this history does not reach: ${unseen.join(', ')}`);
    } finally {
      await app.close();
    }
  });
});
