// Actions on one LPAR: a migration (or a series of them) to chosen systems, an ofdt write, and the
// migration report, which opens when a migration ends.

import { api } from '../api.js';
import { enc, html, num, useState } from '../lib.js';
import { attempt, StateBadge } from '../ui.js';
import { DmesgPane } from './panes.js';

/** "p9-beta, p9-alpha" -> the destinations, in order. */
export const parseSeries = (text) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** Runs the migrations one after another; stops at the first refused one. Answers the last migration. */
export async function migrateSeries(lpar, destinations, dryRun = false, onEach = () => {}) {
  let last = null;
  for (const destination of destinations) {
    last = await api(`/v1/lpars/${enc(lpar)}/migrations`, { method: 'POST', json: { destination, dryRun } });
    onEach(last);
  }
  return last;
}

export function MigratePanel({ lpar, systems, current, onMigrated }) {
  const others = systems.filter((s) => s.name !== current);
  const [busy, setBusy] = useState(null);
  const submit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const series = parseSeries(f.get('series') || '');
    const destinations = series.length ? series : [f.get('destination')];
    window.lparsimStats = { ...(window.lparsimStats ?? {}), migrationRequestedAt: performance.now() };
    setBusy(`0/${destinations.length}`);
    let done = 0;
    const last = await attempt(() =>
      migrateSeries(lpar, destinations, f.get('dryRun') === 'on', () =>
        setBusy(`${++done}/${destinations.length}`),
      ),
    );
    setBusy(null);
    if (last) onMigrated(last);
  };
  return html`<form class="migrate" onSubmit=${submit} aria-label="Migrate">
    <label>Destination
      <select name="destination">${others.map((s) => html`<option value=${s.name}>${s.name} (${s.processor})</option>`)}</select>
    </label>
    <label>or a series <input name="series" placeholder="p9-beta, p9-alpha" size="22" /></label>
    <label class="check"><input type="checkbox" name="dryRun" /> dry run</label>
    <button type="submit" disabled=${busy !== null}>${busy ? `Migrating ${busy}…` : 'Migrate'}</button>
  </form>`;
}

export function OfdtPanel({ lpar }) {
  const [result, setResult] = useState(null);
  const submit = async (ev) => {
    ev.preventDefault();
    // The form's text is the write(2)'s bytes; \0 is typed as the two characters, as in the docs.
    const text = new FormData(ev.target).get('command').replaceAll('\\0', '\u0000');
    setResult(null);
    const r = await attempt(() => api(`/v1/lpars/${enc(lpar)}/proc/ppc64/ofdt`, { method: 'POST', text }));
    if (r) setResult(r);
  };
  return html`<form class="ofdt" onSubmit=${submit} aria-label="ofdt command">
    <label>/proc/ppc64/ofdt
      <input name="command" required size="40" placeholder="remove_node 0xfffffff5" />
    </label>
    <button type="submit">Write</button>
    ${result ? html`<span class="ok" role="status">${result.command}: ${result.bytes} bytes accepted</span>` : ''}
  </form>`;
}

export function ReportView({ lpar, migration, onClose }) {
  const r = migration.report;
  const link = (a, text) => html`<a href=${`#/lpars/${enc(lpar)}/nodes/${a}`}>${text}</a>`;
  return html`<section class="report card" aria-labelledby="report-title">
    <h3 id="report-title">Migration ${migration.id}: ${migration.source} → ${migration.destination}
      <span class=${`badge m-${migration.state}`}>${migration.state}${migration.dryRun ? ' (dry run)' : ''}</span></h3>
    <button type="button" class="close" onClick=${onClose} aria-label="Close report">×</button>
    ${
      r === null
        ? html`<p>Dry run: the work list firmware would send.</p>`
        : html`<p>rc ${r.rc}; ${num(r.simulatedUsec)} µs simulated, ${r.durationMs.toFixed(1)} ms.
          Δ warnings <strong>${r.countsDelta.warnings}</strong>, use-after-free <strong>${r.countsDelta.useAfterFree}</strong>,
          renames <strong>${r.countsDelta.sysfsRenames}</strong>, leaked <strong>${r.leakedNodes.length}</strong>,
          stale cache slots <strong>${r.staleCacheSlots.length}</strong>.</p>`
    }
    <h4>Work list</h4>
    <div class="scroll"><table class="list"><thead><tr><th>action</th><th>phandle</th><th>node</th><th>outcome</th></tr></thead>
    <tbody>${(r?.operations ?? migration.workList).map(
      (o, i) => html`<tr key=${i}><td>${o.action}</td><td><code>${o.phandle}</code></td>
        <td>${o.node ? html`${link(o.node.address, o.node.path)} <${StateBadge} state=${o.node.state} />` : o.drc !== undefined ? `drc ${o.drc}` : ''}</td>
        <td>${o.outcome ?? ''}</td></tr>`,
    )}</tbody></table></div>
    ${
      r?.renames.length
        ? html`<h4>sysfs renames</h4><ul>${r.renames.map((x) => html`<li><code>${x.directory}/${x.from}</code> → <code class="renamed">${x.to}</code></li>`)}</ul>`
        : ''
    }
    ${
      r?.leakedNodes.length
        ? html`<h4>Leaked nodes</h4><div class="scroll"><table class="list"><thead><tr><th>node</th><th>state</th><th>refcount</th><th>holders</th><th>migrations survived</th></tr></thead>
        <tbody>${r.leakedNodes.map(
          (
            n,
          ) => html`<tr key=${n.address}><td>${link(n.address, n.lastKnownPath)}</td><td><${StateBadge} state=${n.state} /></td><td>${String(n.refcount)}</td>
            <td>${n.holders.map((h) => `${h.holder}×${h.count}`).join(', ')}</td><td>${n.migrationsSurvived}</td></tr>`,
        )}</tbody></table></div>`
        : ''
    }
    ${
      r?.staleCacheSlots.length
        ? html`<h4>Stale cache slots</h4><ul>${r.staleCacheSlots.map((s) => html`<li>slot ${s.slot} <code>${s.phandle}</code> → ${link(s.address, s.lastKnownPath)} <${StateBadge} state=${s.state} /></li>`)}</ul>`
        : ''
    }
    ${r?.firmwareCalls?.length ? html`<details><summary>Firmware calls (${r.firmwareCalls.length})</summary><ul>${r.firmwareCalls.map((c) => html`<li><code>${c.call}</code> ${c.phandle ?? (c.drc !== undefined ? `drc ${c.drc}` : '')} → ${c.status}</li>`)}</ul></details>` : ''}
    ${r?.dmesg?.length ? html`<details><summary>dmesg of the migration (${r.dmesg.length} lines)</summary><${DmesgPane} dmesg=${r.dmesg.map((text, i) => ({ seq: i, level: 'info', text }))} /></details>` : ''}
  </section>`;
}
