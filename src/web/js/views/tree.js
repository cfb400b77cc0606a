// The device tree as an ARIA tree: each node coloured by its state, with its refcount, its sysfs name
// when safe_name renamed it (#N) and OF_DYNAMIC. Nodes off the tree (detached, released, freed,
// orphaned) stay under their old parent, beside the node that took their place.
// Keys: Up/Down move, Right opens (or goes to the first child), Left closes (or goes to the parent),
// Home/End, Enter or Space selects (the deep link follows).

import { html, useEffect, useMemo, useRef, useState } from '../lib.js';
import { sysfsName } from '../model.js';

const ALL_OPEN_UP_TO = 600;

/**
 * Which nodes are open: a small tree is all open but for the nodes closed (so a node a migration adds
 * shows at once); a big one opens only the way to what matters, the nodes off the tree and the
 * selected one.
 */
function initialOpen(nodes, tree, selected) {
  if (nodes.size <= ALL_OPEN_UP_TO) return { allBut: true, set: new Set() };
  const set = new Set(tree.roots);
  for (const n of nodes.values())
    if (n.state !== 'attached' || n.address === selected)
      for (let p = tree.parents.get(n.address); p; p = tree.parents.get(p)) set.add(p);
  return { allBut: false, set };
}

const isOpen = (open, a) => open.allBut !== open.set.has(a);

function withOpen(open, a, want) {
  const set = new Set(open.set);
  if (want === open.allBut) set.delete(a);
  else set.add(a);
  return { allBut: open.allBut, set };
}

function visibleRows(tree, open) {
  const rows = [];
  const walk = (address, level, parent) => {
    rows.push({ address, level, parent });
    if (isOpen(open, address)) for (const c of tree.children.get(address) ?? []) walk(c, level + 1, address);
  };
  for (const r of tree.roots) walk(r, 1, null);
  return rows;
}

export function Tree({ nodes, tree, selected, onSelect, version }) {
  const [open, setOpen] = useState(() => initialOpen(nodes, tree, selected));
  const [focus, setFocus] = useState(selected);
  const list = useRef(null);
  // A selection from outside (a deep link, a cache slot) opens the way to it.
  useEffect(() => {
    if (!selected) return;
    setFocus(selected);
    setOpen((o) => {
      let next = o;
      for (let p = tree.parents.get(selected); p; p = tree.parents.get(p)) next = withOpen(next, p, true);
      return next;
    });
  }, [selected, tree]);
  const rows = useMemo(() => visibleRows(tree, open), [tree, open, version]);
  const focusAddr = rows.some((r) => r.address === focus) ? focus : rows[0]?.address;
  useEffect(() => {
    const el = list.current?.querySelector(`[data-address="${focusAddr}"]`);
    if (el && list.current.contains(document.activeElement)) el.focus();
  }, [focusAddr]);
  useEffect(() => {
    list.current?.querySelector(`[data-address="${selected}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
  const toggle = (a, want) => setOpen((o) => withOpen(o, a, want ?? !isOpen(o, a)));
  const onKey = (ev) => {
    const i = rows.findIndex((r) => r.address === focusAddr);
    if (i < 0) return;
    const row = rows[i];
    const hasKids = (tree.children.get(row.address) ?? []).length > 0;
    const moveTo = (j) => setFocus(rows[Math.max(0, Math.min(rows.length - 1, j))].address);
    switch (ev.key) {
      case 'ArrowDown':
        moveTo(i + 1);
        break;
      case 'ArrowUp':
        moveTo(i - 1);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(rows.length - 1);
        break;
      case 'ArrowRight':
        if (hasKids && !isOpen(open, row.address)) toggle(row.address, true);
        else if (hasKids) moveTo(i + 1);
        break;
      case 'ArrowLeft':
        if (hasKids && isOpen(open, row.address)) toggle(row.address, false);
        else if (row.parent) setFocus(row.parent);
        break;
      case 'Enter':
      case ' ':
        onSelect(row.address);
        break;
      default:
        return;
    }
    ev.preventDefault();
  };
  return html`<ul class="tree" role="tree" aria-label="Device tree" ref=${list} onKeyDown=${onKey}>
    ${rows.map(({ address, level }) => {
      const n = nodes.get(address);
      const kids = tree.children.get(address) ?? [];
      const renamed = sysfsName(n) !== n.fullName;
      const off = n.state !== 'attached';
      return html`<li
        key=${address}
        role="treeitem"
        id=${`node-${address}`}
        data-address=${address}
        data-state=${n.state}
        class=${`row${off ? ' off' : ''}${address === selected ? ' selected' : ''}`}
        style=${`--level:${level}`}
        aria-level=${level}
        aria-expanded=${kids.length ? String(isOpen(open, address)) : undefined}
        aria-selected=${String(address === selected)}
        aria-label=${`${n.fullName}, ${n.state}, refcount ${n.refcount}${renamed ? `, sysfs ${sysfsName(n)}` : ''}`}
        tabindex=${address === focusAddr ? 0 : -1}
        onClick=${() => {
          setFocus(address);
          onSelect(address);
        }}
      >
        <span class="twist" aria-hidden="true" onClick=${(ev) => {
          ev.stopPropagation();
          toggle(address);
        }}>${kids.length ? (isOpen(open, address) ? '▾' : '▸') : ''}</span>
        <span class=${`swatch state-${n.state}`} aria-hidden="true"></span>
        <span class="name">${n.fullName}</span>
        ${renamed ? html`<span class="badge rename" title="sysfs directory renamed by safe_name">${sysfsName(n)}</span>` : ''}
        <span class="rc" title="refcount">${n.refcount}</span>
        ${n.flags.includes('OF_DYNAMIC') ? html`<span class="badge flag" title="OF_DYNAMIC: allocated at run time, freed at refcount 0">DYN</span>` : ''}
        ${off ? html`<span class=${`badge state-${n.state}`}>${n.state}</span>` : ''}
      </li>`;
    })}
  </ul>`;
}
