// The LPAR's other views: the phandle cache slot by slot, the vio devices with their of_node links,
// dmesg with its WARNING and oops blocks folded, and what is off the tree.

import { enc, html, num } from '../lib.js';
import { StateBadge } from '../ui.js';

const nodeLink = (lpar, address, text) =>
  html`<a href=${`#/lpars/${enc(lpar)}/nodes/${address}`}>${text}</a>`;
const GRID_UP_TO = 4096;

export function CachePane({ lpar, cache }) {
  const bySlot = new Map(cache.slots.map((s) => [s.slot, s]));
  const c = cache.counts;
  return html`<div class="cache">
    <p>
      model <code>${cache.model}</code>, ${cache.size} slots${cache.holdsReferences ? ', holds references' : ''};
      ${num(c.lookups)} lookups, ${num(c.hits)} hits, ${num(c.misses)} misses, ${num(c.collisions)} collisions,
      <strong>${c.staleHits}</strong> stale hits, <strong>${c.useAfterFreeHits}</strong> use-after-free hits,
      <strong class="stale-count">${c.staleCacheEntries}</strong> stale entries.
    </p>
    ${
      cache.size > 0 && cache.size <= GRID_UP_TO
        ? html`<div class="slots" role="img" aria-label=${`${cache.size} cache slots, ${cache.slots.length} filled, ${c.staleCacheEntries} stale`}>
          ${Array.from({ length: cache.size }, (_, i) => {
            const s = bySlot.get(i);
            return html`<span key=${i} class=${`slot${s ? ` state-${s.state}` : ' empty'}${s?.stale ? ' stale' : ''}`} title=${s ? `slot ${i}: ${s.phandle} ${s.lastKnownPath} (${s.state})` : `slot ${i}: empty`}></span>`;
          })}
        </div>`
        : ''
    }
    <div class="scroll"><table class="list" aria-label="Phandle cache slots">
      <thead><tr><th>slot</th><th>phandle</th><th>node</th><th>state</th><th></th></tr></thead>
      <tbody>${cache.slots.map(
        (s) => html`<tr key=${s.slot} class=${s.stale ? 'stale' : ''} data-slot=${s.slot}>
          <td>${s.slot}</td><td><code>${s.phandle}</code></td>
          <td>${nodeLink(lpar, s.address, s.path ?? s.lastKnownPath)}</td>
          <td><${StateBadge} state=${s.state} /></td>
          <td>${s.stale ? html`<strong class="mark">${s.state === 'freed' ? 'freed: use-after-free on hit' : 'stale'}</strong>` : ''}</td>
        </tr>`,
      )}</tbody>
    </table></div>
  </div>`;
}

export function VioPane({ lpar, vio }) {
  return html`<div class="scroll"><table class="list" aria-label="VIO devices">
    <thead><tr><th>device</th><th>driver</th><th>of_node</th><th>state</th><th>refcount</th><th></th></tr></thead>
    <tbody>${vio.map((v) => {
      const broken = v.node.state !== 'attached';
      return html`<tr key=${v.name} class=${broken ? 'broken' : ''}>
        <td><code>${v.name}</code></td><td>${v.driver ?? html`<span class="muted">none</span>`}</td>
        <td>${nodeLink(lpar, v.node.address, v.node.path ?? v.node.lastKnownPath)}</td>
        <td><${StateBadge} state=${v.node.state} /></td><td>${String(v.node.refcount)}</td>
        <td>${broken ? html`<strong class="mark">broken of_node link</strong>` : ''}</td>
      </tr>`;
    })}</tbody>
  </table></div>`;
}

const BLOCK_START =
  /^(WARNING:|------------\[ cut here \]|Oops:|BUG:|Unable to handle kernel|Kernel panic|==+$|BUG: KASAN)/;
const BLOCK_END = /^---\[ end (trace|Kernel panic)|^==+$/;

/** dmesg lines with each WARNING, oops and KASAN block as one group, its first line the summary. */
export function foldDmesg(lines) {
  const out = [];
  let block = null;
  for (const l of lines) {
    if (block) {
      block.lines.push(l);
      if (BLOCK_END.test(l.text) && block.lines.length > 1) block = null;
      continue;
    }
    if (BLOCK_START.test(l.text)) {
      block = { kind: /WARNING|cut here/.test(l.text) ? 'warning' : 'oops', lines: [l] };
      out.push(block);
    } else out.push(l);
  }
  return out;
}

const stamp = (usec) => (usec === undefined ? '' : `[${(usec / 1e6).toFixed(6).padStart(12)}] `);
const line = (l) => html`<div class=${`dl lvl-${l.level}`}>${stamp(l.usec)}${l.text}</div>`;

export function DmesgPane({ dmesg }) {
  const parts = foldDmesg(dmesg);
  return html`<div class="dmesg" aria-label="dmesg">
    ${parts.map((p, i) =>
      p.lines
        ? html`<details key=${i} class=${`block ${p.kind}`}>
          <summary>${stamp(p.lines[0].usec)}${p.lines.find((l) => /WARNING:|Oops|BUG|KASAN|Unable/.test(l.text))?.text ?? p.lines[0].text} <span class="muted">(${p.lines.length} lines)</span></summary>
          ${p.lines.map(line)}
        </details>`
        : html`<div key=${i}>${line(p)}</div>`,
    )}
  </div>`;
}

export function OffTreePane({ lpar, nodes }) {
  const off = [...nodes.values()].filter((n) => n.state !== 'attached');
  if (!off.length) return html`<p class="muted">Every node is in the live tree.</p>`;
  return html`<div class="scroll"><table class="list" aria-label="Nodes off the tree">
    <thead><tr><th>node</th><th>state</th><th>refcount</th><th>flags</th><th>old place</th></tr></thead>
    <tbody>${off.map(
      (n) => html`<tr key=${n.address} data-address=${n.address}>
        <td>${nodeLink(lpar, n.address, n.fullName)} <code class="muted">${n.address}</code></td>
        <td><${StateBadge} state=${n.state} /></td><td>${String(n.refcount)}</td>
        <td>${n.flags.join(' ')}</td><td><code>${n.lastKnownPath}</code></td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}
