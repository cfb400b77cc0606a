// /sys/firmware/devicetree/base as a tar archive that `dtc -I fs` reads back into the same tree.
// The entries are taken in one synchronous pass (so the archive is the tree at one instant, never half
// way through a mutation; property values are shared, not copied), then fed to the packer one at a
// time, waiting for it to have room: memory stays at the snapshot, not the whole archive.

import { pack } from 'tar-stream';
import type { KernfsDir } from '../kernel/kernfs.ts';
import type { Lpar } from './lpar.ts';

interface TarEntry {
  readonly name: string;
  readonly kind: 'dir' | 'file' | 'link';
  readonly mode: number;
  readonly content?: Uint8Array;
  readonly target?: string;
}

function snapshot(lpar: Lpar): TarEntry[] {
  const entries: TarEntry[] = [];
  const base = lpar.of.root?.kobj.dir;
  if (!base) return entries;
  lpar.run('cat', () => {
    const walk = (dir: KernfsDir, prefix: string) => {
      entries.push({ name: `${prefix}/`, kind: 'dir', mode: dir.mode });
      for (const entry of [...dir.entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const name = `${prefix}/${entry.name}`;
        if (entry.kind === 'dir') walk(entry, name);
        else if (entry.kind === 'file')
          entries.push({ name, kind: 'file', mode: entry.mode, content: entry.read() });
        else entries.push({ name, kind: 'link', mode: 0o777, target: entry.target });
      }
    };
    walk(base, 'base');
  });
  return entries;
}

export function sysfsTar(lpar: Lpar): ReturnType<typeof pack> {
  const entries = snapshot(lpar);
  const archive = pack();
  const mtime = new Date(Date.parse(lpar.config.createdAt));
  const add = (e: TarEntry) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.kind === 'dir') archive.entry({ name: e.name, type: 'directory', mode: e.mode, mtime }, done);
      else if (e.kind === 'link')
        archive.entry({ name: e.name, type: 'symlink', linkname: e.target!, mode: e.mode, mtime }, done);
      else
        archive.entry(
          { name: e.name, mode: e.mode, mtime },
          Buffer.from(e.content!.buffer, e.content!.byteOffset, e.content!.byteLength),
          done,
        );
    });
  (async () => {
    for (const e of entries) await add(e);
    archive.finalize();
  })().catch((err: Error) => archive.destroy(err));
  return archive;
}
