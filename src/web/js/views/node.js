// One node, as its Node document says: state, refcount, flags, holders with counts and the unbalanced
// puts beside them, its sysfs path, its phandle-cache slot, and its properties decoded where the
// service knows the encoding (string, strings, u32 cells), hex otherwise.

import { api } from '../api.js';
import { enc, html, useEffect, useState } from '../lib.js';
import { sysfsPath } from '../model.js';
import { attempt, go, StateBadge } from '../ui.js';

const HEX_SHOWN = 256;

function hexDump(hex) {
  const shown = hex
    .slice(0, HEX_SHOWN * 2)
    .replace(/(.{8})/g, '$1 ')
    .trim();
  return hex.length > HEX_SHOWN * 2 ? `${shown} … (${hex.length / 2} bytes)` : shown;
}

function PropertyValue({ p }) {
  if (p.type === 'empty') return html`<span class="muted">(empty)</span>`;
  if (p.type === 'string') return html`<code>"${p.value}"</code>`;
  if (p.type === 'strings') return html`<code>${p.value.map((s) => `"${s}"`).join(', ')}</code>`;
  if (p.type === 'u32' && Array.isArray(p.value)) {
    const cells = p.value.slice(0, 64).map((v) => `0x${v.toString(16).padStart(8, '0')}`);
    return html`<code>${`<${cells.join(' ')}${p.value.length > 64 ? ` … ${p.value.length} cells` : ''}>`}</code>`;
  }
  return html`<code class="hex">[${hexDump(p.hex)}]</code>`;
}

function Properties({ list, title }) {
  if (!list.length) return null;
  return html`<details open=${list.length <= 40}>
    <summary>${title} (${list.length})</summary>
    <div class="scroll"><table class="props">
      <thead><tr><th>name</th><th>bytes</th><th>value</th></tr></thead>
      <tbody>${list.map(
        (p) => html`<tr key=${p.name}><td><code>${p.name}</code></td><td>${p.length}</td>
          <td><${PropertyValue} p=${p} />${p.type !== 'empty' && p.type !== 'bytes' ? html`<details class="raw"><summary>hex</summary><code class="hex">${hexDump(p.hex)}</code></details>` : ''}</td></tr>`,
      )}</tbody>
    </table></div>
  </details>`;
}

export function NodeDetail({ lpar, address, pic, tree, version }) {
  const [doc, setDoc] = useState(null);
  const summary = pic.nodes.get(address);
  // Refetched when the node changed on the stream (its state, refcount or holders).
  const mark = summary ? `${summary.state}|${summary.refcount}|${summary.changedAt ?? ''}|${version}` : '';
  useEffect(() => {
    let live = true;
    attempt(async () => {
      const d = await api(`/v1/lpars/${enc(lpar)}/nodes/${enc(address)}`);
      if (live) setDoc(d);
    });
    return () => {
      live = false;
    };
  }, [lpar, address, mark]);
  if (!doc || doc.address !== address) return html`<p class="muted">loading ${address}…</p>`;
  const slots = pic.cache.slots.filter(
    (s) => s.address === address || (s.phandle === doc.phandle && doc.phandle !== '0x0'),
  );
  const link = (a, text) => html`<a href=${`#/lpars/${enc(lpar)}/nodes/${a}`}>${text}</a>`;
  return html`<article class="node" aria-labelledby="node-title">
    <h3 id="node-title"><span class=${`swatch state-${doc.state}`} aria-hidden="true"></span> ${doc.fullName} <${StateBadge} state=${doc.state} /></h3>
    <dl class="facts">
      <dt>address</dt><dd><code>${doc.address}</code></dd>
      <dt>path</dt><dd><code>${doc.path ?? '(not in the tree)'}</code>${doc.path === null ? html` <span class="muted">was</span> <code>${doc.lastKnownPath}</code>` : ''}</dd>
      <dt>phandle</dt><dd><code>${doc.phandle}</code></dd>
      <dt>refcount</dt><dd class="refcount">${String(doc.refcount)}</dd>
      <dt>flags</dt><dd>${doc.flags.length ? doc.flags.map((f) => html`<span class="badge flag">${f}</span> `) : html`<span class="muted">none</span>`}</dd>
      <dt>sysfs</dt><dd><code class="sysfs-path">${sysfsPath(pic.nodes, tree.parents, address)}</code>${doc.sysfs.inSysfs ? '' : html` <span class="muted">(removed)</span>`}</dd>
      <dt>cache slot</dt><dd class="cache-slot">${
        slots.length
          ? slots.map(
              (s) =>
                html`<span class=${`badge${s.stale ? ' stale' : ''}`}>slot ${s.slot}${s.address !== address ? ` → ${s.address}` : ''}${s.stale ? ' stale' : ''}</span> `,
            )
          : html`<span class="muted">not cached</span>`
      }</dd>
      <dt>parent</dt><dd>${doc.parent ? link(doc.parent, pic.nodes.get(doc.parent)?.lastKnownPath ?? doc.parent) : html`<span class="muted">none</span>`}</dd>
      ${doc.freed ? html`<dt>freed</dt><dd><code>${JSON.stringify(doc.freed)}</code></dd>` : ''}
    </dl>
    <h4>Holders</h4>
    ${
      doc.holders.length
        ? html`<table class="holders" aria-label="Holders">
          <thead><tr><th>holder</th><th>count</th></tr></thead>
          <tbody>${doc.holders.map((h) => html`<tr key=${h.holder} data-holder=${h.holder}><td><code>${h.holder}</code></td><td>${h.count}</td></tr>`)}</tbody>
        </table>`
        : html`<p class="muted">no holder</p>`
    }
    ${
      doc.unbalancedPuts.length
        ? html`<h4>Unbalanced puts</h4><table class="unbalanced" aria-label="Unbalanced puts">
          <thead><tr><th>holder</th><th>count</th></tr></thead>
          <tbody>${doc.unbalancedPuts.map((h) => html`<tr key=${h.holder}><td><code>${h.holder}</code></td><td>${h.count}</td></tr>`)}</tbody>
        </table>`
        : ''
    }
    ${doc.children.length ? html`<h4>Children</h4><ul class="children">${doc.children.map((c) => html`<li key=${c}>${link(c, pic.nodes.get(c)?.fullName ?? c)}</li>`)}</ul>` : ''}
    <${Properties} list=${doc.properties} title="Properties" />
    <${Properties} list=${doc.deadProperties} title="Dead properties (removed, kept on deadprops)" />
    <p><button type="button" onClick=${() => go('lpars', lpar)}>Close node</button></p>
  </article>`;
}
