// Device tree source text from a flattened tree, formatted the way `dtc -O dts` guesses types.

import type { FdtNode } from './fdt.ts';
import { decodeValue, toHex } from './property.ts';

function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function formatValue(value: Uint8Array): string {
  const decoded = decodeValue(value);
  switch (decoded.kind) {
    case 'empty':
      return '';
    case 'string':
      return ` = "${escapeString(decoded.value)}"`;
    case 'strings':
      return ` = ${decoded.value.map((s) => `"${escapeString(s)}"`).join(', ')}`;
    case 'u32':
      return ` = <${decoded.value.map((c) => `0x${c.toString(16)}`).join(' ')}>`;
    case 'bytes':
      return ` = [${toHex(value).replace(/(..)(?!$)/g, '$1 ')}]`;
  }
}

export function toDts(root: FdtNode): string {
  const lines: string[] = ['/dts-v1/;', ''];
  const emit = (node: FdtNode, depth: number): void => {
    const pad = '\t'.repeat(depth);
    lines.push(`${pad}${depth === 0 ? '/' : node.name} {`);
    for (const p of node.props) lines.push(`${pad}\t${p.name}${formatValue(p.value)};`);
    for (const c of node.children) {
      lines.push('');
      emit(c, depth + 1);
    }
    lines.push(`${pad}};`);
  };
  emit(root, 0);
  return `${lines.join('\n')}\n`;
}
