// One LPAR: its device tree coloured by node state, the selected node, and the cache, vio, dmesg,
// off-tree and migration views, kept current by the LPAR's event stream.

import { api } from '../api.js';
import { follow, lastEventId } from '../events.js';
import { enc, html, num, useEffect, useMemo, useRef, useState } from '../lib.js';
import { applyEvent, buildTree, fillDocuments, loadLpar } from '../model.js';
import { attempt, go, Legend, reportError } from '../ui.js';
import { useCatalogue } from './lpars.js';
import { MigratePanel, OfdtPanel, ReportView } from './migrate.js';
import { NodeDetail } from './node.js';
import { CachePane, DmesgPane, OffTreePane, VioPane } from './panes.js';
import { Tree } from './tree.js';

/** Test and measurement hooks: when the last node changed colour, what the stream saw. */
const stats = () => {
  window.lparsimStats ??= {};
  return window.lparsimStats;
};

/**
 * The LPAR's picture: loaded, then followed on its event stream from the last event before the load
 * (so nothing between the two is missed; events repeat only absolute values). Events change states and
 * refcounts at once; whatever an event cannot carry (a new node's place, the cache, vio) is fetched
 * again shortly after the burst.
 */
function usePicture(id) {
  const [pic, setPic] = useState(null);
  const [status, setStatus] = useState('connecting');
  const [ended, setEnded] = useState(null);
  const ref = useRef(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let stop = () => {};
    let cancelled = false;
    let timer = 0;
    const pending = new Set();
    const base = `/v1/lpars/${enc(id)}`;
    const commit = () => {
      ref.current = { ...ref.current, version: (ref.current.version ?? 0) + 1 };
      setPic(ref.current);
    };
    const refetch = async () => {
      const what = new Set(pending);
      pending.clear();
      const p = ref.current;
      if (what.has('nodes') || what.has('views')) {
        const fresh = await loadLpar(id);
        if (cancelled) return;
        // Keep what documents told about nodes already known (parent, sysfs name).
        for (const [a, n] of fresh.nodes) {
          const old = p.nodes.get(a);
          if (old && old.parent !== undefined && n.parent === undefined)
            Object.assign(n, { parent: old.parent, sysfs: n.sysfs ?? old.sysfs });
          if (old?.changedAt) n.changedAt = old.changedAt;
        }
        await fillDocuments(base, fresh.nodes);
        ref.current = { ...p, ...fresh, dmesg: fresh.dmesg };
        commit();
      }
      if (what.has('report') && ref.current.finished) ref.current.openReport = ref.current.finished;
      commit();
    };
    const onBatch = (events) => {
      const p = ref.current;
      if (!p) return;
      let recoloured = false;
      for (const e of events) {
        const state = p.nodes.get(e.data.address)?.state;
        for (const need of applyEvent(p, e)) pending.add(need);
        if (state !== undefined && p.nodes.get(e.data.address)?.state !== state) recoloured = true;
        if (e.type === 'migration.completed' || e.type === 'migration.failed') {
          p.finished = e.data.migration;
          pending.add('report');
        }
        if (e.type === 'lpar.rebooted' || e.type === 'lpar.deleted') setEnded(e.type);
      }
      stats().events = (stats().events ?? 0) + events.length;
      commit();
      if (recoloured) requestAnimationFrame(() => (stats().lastRecolour = performance.now()));
      if (pending.size) {
        clearTimeout(timer);
        timer = setTimeout(() => refetch().catch(reportError), 150);
      }
    };
    (async () => {
      const since = await lastEventId(id);
      const p = await loadLpar(id);
      if (cancelled) return;
      ref.current = { ...p, version: 0 };
      setPic(ref.current);
      stop = follow(id, since, onBatch, setStatus);
    })().catch((err) => {
      reportError(err);
      setStatus('failed');
    });
    return () => {
      cancelled = true;
      stop();
      clearTimeout(timer);
    };
  }, [id, generation]);
  const restart = () => {
    setEnded(null);
    setPic(null);
    setGeneration((g) => g + 1);
  };
  const openReport = (m) => {
    ref.current = { ...ref.current, openReport: m };
    setPic(ref.current);
  };
  return { pic, status, ended, restart, openReport };
}

const TABS = [
  ['offtree', 'Off the tree'],
  ['cache', 'Phandle cache'],
  ['vio', 'VIO devices'],
  ['dmesg', 'dmesg'],
  ['migrations', 'Migrations'],
];

function Counts({ counts }) {
  return html`<ul class="counts" aria-label="Counts">
    ${['attached', 'detached', 'released', 'freed', 'orphaned'].map(
      (s) =>
        html`<li key=${s} class=${counts[s] ? '' : 'zero'}><span class=${`swatch state-${s}`} aria-hidden="true"></span>${counts[s]} ${s}</li>`,
    )}
    ${['staleCacheEntries', 'useAfterFree', 'sysfsRenames', 'warnings', 'unbalancedPuts'].map(
      (k) => html`<li key=${k} class=${counts[k] ? 'hot' : 'zero'}>${counts[k]} ${k}</li>`,
    )}
  </ul>`;
}

export function LparView({ id, node }) {
  const { pic, status, ended, restart, openReport } = usePicture(id);
  const cat = useCatalogue();
  const [tab, setTab] = useState('offtree');
  const tree = useMemo(() => (pic ? buildTree(pic.nodes) : null), [pic?.nodes, pic?.version]);
  // The report opens when a migration ends (on the stream, or when this page ran it).
  const reportId = typeof pic?.openReport === 'string' ? pic.openReport : pic?.openReport?.id;
  const report = pic?.openReport?.id ? pic.openReport : pic?.migrations.find((m) => m.id === reportId);
  if (!pic) return html`<p class="muted">loading ${id}…</p>`;
  const l = pic.lpar;
  const reboot = async () => {
    if (await attempt(() => api(`/v1/lpars/${enc(id)}/reboot`, { method: 'POST' }))) restart();
  };
  const remove = async () => {
    if (
      confirm(`Delete ${id}?`) &&
      (await attempt(() => api(`/v1/lpars/${enc(id)}`, { method: 'DELETE' }))) !== undefined
    )
      go();
  };
  const selected = node && pic.nodes.has(node) ? node : null;
  return html`<div class="lpar">
    <section class="card head" aria-labelledby="lpar-title">
      <h2 id="lpar-title">${l.name} <span class="muted">${l.id}</span></h2>
      <p>
        kernel <strong>${l.kernel}</strong> (${l.kernelProfile.release}${l.kernelProfile.custom ? ', custom' : ''}),
        tree ${l.profile}, phandles ${l.phandleScheme ?? 'from dtb'}, seed ${l.seed ?? '—'}, on <strong class="system">${l.system}</strong>;${' '}
        ${num(l.counts.nodes)} nodes; ${l.health.taint}${l.health.panicked ? ', PANICKED' : ''}.
        <span class=${`stream ${status}`} role="status" aria-label="Event stream">${ended ? ended.replace('lpar.', '') : status}</span>
      </p>
      <${Counts} counts=${l.counts} />
      <div class="actions">
        ${cat ? html`<${MigratePanel} lpar=${id} systems=${cat.systems} current=${l.system} onMigrated=${openReport} />` : ''}
        <${OfdtPanel} lpar=${id} />
        <button type="button" onClick=${reboot}>Reboot</button>
        <button type="button" class="danger" onClick=${remove}>Delete</button>
        <a href=${`#/compare/${enc(id)}`}>Compare with…</a>
      </div>
      ${ended ? html`<p class="ended" role="status">The LPAR was ${ended === 'lpar.rebooted' ? 'rebooted' : 'deleted'}. ${ended === 'lpar.rebooted' ? html`<button type="button" onClick=${restart}>Show the new boot</button>` : ''}</p>` : ''}
    </section>
    <div class="grid">
      <section class="card tree-pane" aria-labelledby="tree-title">
        <h3 id="tree-title">Device tree</h3>
        <${Legend} />
        <${Tree} nodes=${pic.nodes} tree=${tree} selected=${selected} version=${pic.version}
          onSelect=${(a) => go('lpars', id, 'nodes', a)} />
      </section>
      <section class="card detail-pane" aria-label="Selected node">
        ${selected ? html`<${NodeDetail} lpar=${id} address=${selected} pic=${pic} tree=${tree} version=${pic.version} />` : html`<p class="muted">Select a node (click, or arrow keys and Enter in the tree).</p>${node ? html`<p class="error-inline">No node ${node} in ${id}.</p>` : ''}`}
      </section>
    </div>
    ${report ? html`<${ReportView} lpar=${id} migration=${report} onClose=${() => openReport(null)} />` : ''}
    <section class="card panes">
      <div role="tablist" aria-label="LPAR views">
        ${TABS.map(([k, label]) => html`<button type="button" role="tab" id=${`tab-${k}`} aria-controls="tabpanel" aria-selected=${String(tab === k)} onClick=${() => setTab(k)}>${label}</button>`)}
      </div>
      <div role="tabpanel" id="tabpanel" aria-labelledby=${`tab-${tab}`}>
        ${tab === 'offtree' ? html`<${OffTreePane} lpar=${id} nodes=${pic.nodes} />` : ''}
        ${tab === 'cache' ? html`<${CachePane} lpar=${id} cache=${pic.cache} />` : ''}
        ${tab === 'vio' ? html`<${VioPane} lpar=${id} vio=${pic.vio} />` : ''}
        ${tab === 'dmesg' ? html`<${DmesgPane} dmesg=${pic.dmesg} />` : ''}
        ${
          tab === 'migrations'
            ? html`<table class="list" aria-label="Migrations"><thead><tr><th>id</th><th>from → to</th><th>state</th><th>rc</th><th></th></tr></thead>
              <tbody>${pic.migrations.map(
                (
                  m,
                ) => html`<tr key=${m.id}><td>${m.id}</td><td>${m.source} → ${m.destination}</td><td>${m.state}${m.dryRun ? ' (dry run)' : ''}</td><td>${m.report?.rc ?? ''}</td>
                <td><button type="button" onClick=${() => openReport(m)}>Report</button></td></tr>`,
              )}</tbody></table>`
            : ''
        }
      </div>
    </section>
  </div>`;
}
