// The expanded overlay tree: what of_fdt_unflatten_tree makes of an overlay blob, kept as the
// simulator's own structure rather than as device nodes of the LPAR. The kernel never attaches these
// nodes (the changeset attaches copies, overlay.ts) and frees them with the changeset; as device nodes
// they would show as orphaned allocations in the leak reports, which they are not.

import type { FdtNode } from './fdt.ts';
import { readU32 } from './property.ts';

export interface OverlayProperty {
  readonly name: string;
  /** A copy of the blob's bytes: the resolver rewrites phandles in place, as the kernel does. */
  value: Uint8Array;
}

export interface OverlayNode {
  /** The FDT node name (`fragment@0`), the kernel's full_name of an unflattened node. */
  readonly fullName: string;
  /** The name up to `@` (what of_node_name_eq compares). */
  readonly name: string;
  readonly props: OverlayProperty[];
  readonly children: OverlayNode[];
  readonly parent: OverlayNode | null;
  phandle: number;
}

/** The unit name: after the last '/', up to '@'. */
function baseName(fullName: string): string {
  const at = fullName.indexOf('@');
  return at < 0 ? fullName : fullName.slice(0, at);
}

/**
 * of_fdt_unflatten_tree for an overlay: every node with a copy of its properties (populate_properties
 * adds a `name` where the blob has none, E13) and its phandle (`phandle` or `linux,phandle`, the first
 * one seen; `ibm,phandle` overrides).
 */
export function unflattenOverlay(fdt: FdtNode, parent: OverlayNode | null = null): OverlayNode {
  const props: OverlayProperty[] = fdt.props.map((p) => ({ name: p.name, value: p.value.slice() }));
  const fullName = parent ? fdt.name : '';
  if (!props.some((p) => p.name === 'name'))
    props.push({ name: 'name', value: new TextEncoder().encode(`${baseName(fullName)}\0`) });
  let phandle = 0;
  for (const p of props) {
    if ((p.name === 'phandle' || p.name === 'linux,phandle') && !phandle) phandle = readU32(p.value) ?? 0;
    if (p.name === 'ibm,phandle') phandle = readU32(p.value) ?? phandle;
  }
  const node: OverlayNode = { fullName, name: baseName(fullName), props, children: [], parent, phandle };
  for (const c of fdt.children) node.children.push(unflattenOverlay(c, node));
  return node;
}

export function overlayProperty(np: OverlayNode, name: string): OverlayProperty | undefined {
  return np.props.find((p) => p.name === name);
}

export function overlayChild(np: OverlayNode, name: string): OverlayNode | undefined {
  return np.children.find((c) => c.name === name);
}

/** %pOF of an overlay node: its path inside the overlay tree (the tree's root prints as `/`). */
export function overlayPath(np: OverlayNode): string {
  const parts: string[] = [];
  for (let n: OverlayNode | null = np; n?.parent; n = n.parent) parts.unshift(n.fullName);
  return `/${parts.join('/')}`;
}

/** __of_find_node_by_full_path from the overlay's root: each component matches a full name exactly. */
export function overlayFindByPath(root: OverlayNode, path: string): OverlayNode | null {
  let np: OverlayNode | undefined = root;
  for (const part of path.split('/').filter((c) => c.length > 0)) {
    np = np.children.find((c) => c.fullName === part);
    if (!np) return null;
  }
  return np;
}
