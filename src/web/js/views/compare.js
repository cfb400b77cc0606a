// Compare view: two LPARs (say 4.18 and 5.16, the same seed, the same migrations) side by side, node by
// node, with every difference marked: the 2018 thread's argument in one picture.

import { api } from '../api.js';
import { enc, html, num, useEffect, useState } from '../lib.js';
import { compareRows, loadLpar, sysfsName } from '../model.js';
import { attempt, go, StateBadge } from '../ui.js';
import { useCatalogue } from './lpars.js';
import { migrateSeries, parseSeries } from './migrate.js';

const COUNTS = [
  'nodes',
  'attached',
  'detached',
  'released',
  'freed',
  'orphaned',
  'staleCacheEntries',
  'useAfterFree',
  'sysfsRenames',
  'warnings',
  'unbalancedPuts',
];

function PairForm({ cat, a, b }) {
  const [lpars, setLpars] = useState([]);
  const [busy, setBusy] = useState(null);
  useEffect(() => {
    attempt(async () => setLpars((await api('/v1/lpars')).items));
  }, []);
  const pick = (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    go('compare', f.get('a'), f.get('b'));
  };
  const setUp = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const common = { seed: Number(f.get('seed')), profile: f.get('profile') };
    const series = parseSeries(f.get('series'));
    const pair = [];
    for (const kernel of [f.get('kernelA'), f.get('kernelB')]) {
      setBusy(`booting ${kernel}…`);
      const lpar = await attempt(() => api('/v1/lpars', { method: 'POST', json: { ...common, kernel } }));
      if (!lpar) return setBusy(null);
      setBusy(`migrating ${lpar.id} (${kernel}): ${series.join(' → ')}…`);
      if (series.length && !(await attempt(() => migrateSeries(lpar.id, series)))) return setBusy(null);
      pair.push(lpar.id);
    }
    setBusy(null);
    go('compare', ...pair);
  };
  return html`<div class="pair-forms">
    <form class="card" onSubmit=${setUp} aria-labelledby="pair-title">
      <h2 id="pair-title">Set up a pair</h2>
      <p class="muted">Two LPARs on different kernels, the same seed, then the same migrations.</p>
      <div class="fields">
        <label>Kernel A <select name="kernelA">${cat.kernels.map((k) => html`<option selected=${k.name === '4.18'}>${k.name}</option>`)}</select></label>
        <label>Kernel B <select name="kernelB">${cat.kernels.map((k) => html`<option selected=${k.name === '5.16'}>${k.name}</option>`)}</select></label>
        <label>Tree profile <select name="profile">${cat.trees.map((t) => html`<option>${t.name}</option>`)}</select></label>
        <label>Seed <input name="seed" type="number" min="0" value="1" required /></label>
        <label>Migrations <input name="series" value="p9-beta, p9-alpha" /></label>
      </div>
      <button type="submit" disabled=${busy !== null}>Create both and migrate</button>
      ${busy ? html`<span role="status">${busy}</span>` : ''}
    </form>
    <form class="card" onSubmit=${pick} aria-labelledby="pick-title">
      <h2 id="pick-title">Or compare two LPARs</h2>
      <div class="fields">
        ${['a', 'b'].map(
          (side, i) => html`<label>LPAR ${side.toUpperCase()}
            <select name=${side} required>${lpars.map((l) => html`<option value=${l.id} selected=${l.id === (i ? b : a)}>${l.name} (${l.kernel})</option>`)}</select>
          </label>`,
        )}
      </div>
      <button type="submit">Compare</button>
    </form>
  </div>`;
}

const cell = (n) =>
  n
    ? html`<td class="side"><${StateBadge} state=${n.state} /> <span class="rc">rc ${String(n.refcount)}</span>
        <code class="sysfs">${sysfsName(n)}</code>${n.flags.length ? html` <span class="flags">${n.flags.join(' ')}</span>` : ''}</td>`
    : html`<td class="side muted">absent</td>`;

export function CompareView({ a, b }) {
  const cat = useCatalogue();
  const [pics, setPics] = useState(null);
  const [onlyDiffs, setOnlyDiffs] = useState(true);
  const [refcounts, setRefcounts] = useState(true);
  const load = () =>
    attempt(async () => {
      setPics(await Promise.all([loadLpar(a), loadLpar(b)]));
    });
  useEffect(() => {
    setPics(null);
    if (a && b) load();
  }, [a, b]);
  if (!a || !b || !pics)
    return cat ? html`<${PairForm} cat=${cat} a=${a} b=${b} />` : html`<p class="muted">loading…</p>`;
  const [pa, pb] = pics;
  const rows = compareRows(pa.nodes, pb.nodes, { refcounts });
  const differing = rows.filter((r) => r.differs);
  const shown = onlyDiffs ? differing : rows;
  const head = (
    p,
  ) => html`<th scope="col"><a href=${`#/lpars/${enc(p.lpar.id)}`}>${p.lpar.name}</a> · ${p.lpar.kernel} on ${p.lpar.system}
    <div class="muted">${p.migrations.map((m) => m.destination).join(' → ') || 'no migration'}</div></th>`;
  const renames = (p) => p.migrations.flatMap((m) => m.report?.renames ?? []);
  return html`<div class="compare">
    <section class="card" aria-labelledby="compare-title">
      <h2 id="compare-title">${pa.lpar.name} (${pa.lpar.kernel}) vs ${pb.lpar.name} (${pb.lpar.kernel})</h2>
      <p>${differing.length} of ${rows.length} nodes differ. <button type="button" onClick=${load}>Refresh</button> <a href="#/compare">Another pair</a></p>
      <table class="list counts-cmp" aria-label="Counts compared">
        <thead><tr><th>count</th>${head(pa)}${head(pb)}</tr></thead>
        <tbody>${COUNTS.map((k) => html`<tr key=${k} class=${pa.lpar.counts[k] !== pb.lpar.counts[k] ? 'diff' : ''}><th scope="row">${k}</th><td>${num(pa.lpar.counts[k])}</td><td>${num(pb.lpar.counts[k])}</td></tr>`)}
          <tr class=${JSON.stringify(renames(pa)) !== JSON.stringify(renames(pb)) ? 'diff' : ''}><th scope="row">sysfs renames</th>
            ${[pa, pb].map((p) => html`<td>${renames(p).map((r) => html`<code class="renamed">${r.from} → ${r.to}</code> `) || ''}${renames(p).length ? '' : 'none'}</td>`)}</tr>
        </tbody>
      </table>
    </section>
    <section class="card" aria-labelledby="nodes-cmp-title">
      <h3 id="nodes-cmp-title">Nodes, matched by path</h3>
      <label class="check"><input type="checkbox" checked=${onlyDiffs} onChange=${(e) => setOnlyDiffs(e.target.checked)} /> only the nodes that differ</label>
      <label class="check"><input type="checkbox" checked=${refcounts} onChange=${(e) => setRefcounts(e.target.checked)} /> refcounts count as a difference</label>
      <div class="scroll"><table class="list nodes-cmp" aria-label="Nodes compared">
        <thead><tr><th>path</th>${head(pa)}${head(pb)}</tr></thead>
        <tbody>${shown.map(
          (r) => html`<tr key=${r.key} class=${r.differs ? 'diff' : ''} data-differs=${String(r.differs)}>
            <th scope="row">${r.differs ? html`<span class="mark" aria-label="differs">≠</span> ` : ''}<code>${r.path}</code>${r.index ? html` <span class="muted">(${r.index + 1})</span>` : ''}</th>
            ${cell(r.a)}${cell(r.b)}
          </tr>`,
        )}</tbody>
      </table></div>
    </section>
  </div>`;
}
