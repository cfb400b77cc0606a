// The LPAR list: every LPAR with its counts, and the forms that create, reboot and delete them.

import { api } from '../api.js';
import { enc, html, num, useEffect, useState } from '../lib.js';
import { attempt, go } from '../ui.js';

/**
 * The switches a create may override and the values each takes, as the create body's schema in the
 * served OpenAPI document lists them (an enum, or true/false): so a switch added to the service shows
 * here without a change to the page, and a release fact of the profile (a boolean too) never does.
 * The document is large (some 500 KB), so it is read when the switches are first opened, not on load.
 */
function switchesOf(doc) {
  const body = doc.paths['/v1/lpars'].post.requestBody.content['application/json'].schema;
  const props = body.properties?.switches?.properties ?? {};
  return Object.fromEntries(
    Object.entries(props).map(([name, s]) => [name, s.enum ?? (s.type === 'boolean' ? [true, false] : [])]),
  );
}
const OPTIONS = ['refcountFull', 'kasan', 'panicOnOops', 'dynamicDebug'];

/** The catalogue the forms choose from: kernels (with their switches), tree profiles, systems. */
export function useCatalogue() {
  const [cat, setCat] = useState(null);
  useEffect(() => {
    attempt(async () => {
      const [profiles, systems] = await Promise.all([api('/v1/profiles'), api('/v1/systems')]);
      setCat({ kernels: profiles.kernelProfiles, trees: profiles.treeProfiles, systems: systems.items });
    });
  }, []);
  return cat;
}

function CreateForm({ cat, onCreated }) {
  const [kernel, setKernel] = useState('4.18');
  const [busy, setBusy] = useState(false);
  const [switches, setSwitches] = useState(null);
  const openSwitches = (ev) => {
    if (ev.target.open && !switches) attempt(async () => setSwitches(switchesOf(await api('/docs/json'))));
  };
  const profile = cat.kernels.find((k) => k.name === kernel) ?? cat.kernels[0];
  const submit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { kernel };
    for (const k of ['name', 'profile', 'phandleScheme', 'system']) if (f.get(k)) body[k] = f.get(k);
    if (f.get('seed') !== '') body.seed = Number(f.get('seed'));
    const options = {};
    for (const o of OPTIONS) if (f.get(o)) options[o] = true;
    if (Object.keys(options).length) body.options = options;
    const overrides = {};
    for (const s of Object.keys(switches ?? {})) {
      const v = f.get(`switch-${s}`);
      if (v === null || v === '') continue;
      overrides[s] = v === 'true' ? true : v === 'false' ? false : v;
    }
    if (Object.keys(overrides).length) body.switches = overrides;
    setBusy(true);
    const lpar = await attempt(() => api('/v1/lpars', { method: 'POST', json: body }));
    setBusy(false);
    if (lpar) onCreated(lpar);
  };
  return html`<form class="create card" onSubmit=${submit} aria-labelledby="create-title">
    <h2 id="create-title">Create an LPAR</h2>
    <div class="fields">
      <label>Name <input name="name" pattern="[A-Za-z0-9._\\-]+" maxlength="64" placeholder="(lpar-N)" /></label>
      <label>Kernel
        <select name="kernel" value=${kernel} onChange=${(e) => setKernel(e.target.value)}>
          ${cat.kernels.map((k) => html`<option value=${k.name}>${k.name} (${k.release})</option>`)}
        </select>
      </label>
      <label>Tree profile
        <select name="profile">${cat.trees.map((t) => html`<option value=${t.name}>${t.name} (${t.processor})</option>`)}</select>
      </label>
      <label>Phandle scheme
        <select name="phandleScheme"><option value="">default</option><option>phyp</option><option>dtc</option></select>
      </label>
      <label>Seed <input name="seed" type="number" min="0" max="4294967295" value="1" /></label>
      <label>System
        <select name="system"><option value="">default</option>${cat.systems.map((s) => html`<option>${s.name}</option>`)}</select>
      </label>
    </div>
    <fieldset class="options"><legend>Options</legend>
      ${OPTIONS.map((o) => html`<label class="check"><input type="checkbox" name=${o} /> ${o}</label>`)}
    </fieldset>
    <details class="switches" onToggle=${openSwitches}><summary>Switches (override ${kernel}'s)</summary>
      <div class="fields">
        ${switches ? '' : html`<span class="muted">loading…</span>`}
        ${Object.keys(switches ?? {}).map(
          (s) => html`<label key=${s}>${s}
            <select name=${`switch-${s}`}>
              <option value="">${String(profile[s])} (${kernel})</option>
              ${switches[s].filter((v) => v !== profile[s]).map((v) => html`<option value=${String(v)}>${String(v)}</option>`)}
            </select>
          </label>`,
        )}
      </div>
    </details>
    <button type="submit" disabled=${busy}>${busy ? 'Booting…' : 'Create'}</button>
  </form>`;
}

export function LparsView() {
  const cat = useCatalogue();
  const [lpars, setLpars] = useState(null);
  const load = () => attempt(async () => setLpars((await api('/v1/lpars')).items));
  useEffect(() => {
    load();
  }, []);
  const reboot = async (l) => {
    if (await attempt(() => api(`/v1/lpars/${enc(l.id)}/reboot`, { method: 'POST' }))) load();
  };
  const remove = async (l) => {
    if (!confirm(`Delete ${l.id}?`)) return;
    if ((await attempt(() => api(`/v1/lpars/${enc(l.id)}`, { method: 'DELETE' }))) !== undefined) load();
  };
  return html`<div class="lpars">
    <section class="card" aria-labelledby="lpars-title">
      <h2 id="lpars-title">LPARs</h2>
      ${
        lpars === null
          ? html`<p class="muted">loading…</p>`
          : lpars.length === 0
            ? html`<p class="muted">No LPAR yet: create one.</p>`
            : html`<div class="scroll"><table class="list">
              <thead><tr><th>LPAR</th><th>kernel</th><th>tree</th><th>system</th><th>nodes</th><th>off the tree</th><th>warnings</th><th><span class="sr">actions</span></th></tr></thead>
              <tbody>${lpars.map(
                (l) => html`<tr key=${l.id}>
                  <td><a href=${`#/lpars/${enc(l.id)}`}>${l.name}</a>${l.name !== l.id ? html` <span class="muted">${l.id}</span>` : ''}</td>
                  <td>${l.kernel}${l.kernelProfile?.custom ? ' (custom)' : ''}</td>
                  <td>${l.profile}</td><td>${l.system}</td>
                  <td>${num(l.counts.nodes)}</td>
                  <td>${['detached', 'released', 'freed', 'orphaned'].filter((s) => l.counts[s]).map((s) => html`<span class=${`badge state-${s}`}>${l.counts[s]} ${s}</span> `)}</td>
                  <td>${l.counts.warnings}</td>
                  <td class="actions">
                    <button type="button" onClick=${() => reboot(l)} aria-label=${`Reboot ${l.id}`}>Reboot</button>
                    <button type="button" class="danger" onClick=${() => remove(l)} aria-label=${`Delete ${l.id}`}>Delete</button>
                  </td>
                </tr>`,
              )}</tbody></table></div>`
      }
    </section>
    ${cat ? html`<${CreateForm} cat=${cat} onCreated=${(l) => go('lpars', l.id)} />` : ''}
  </div>`;
}
