// /sys/firmware/devicetree/base as a tar archive that `dtc -I fs` reads back into the same tree.

import { pack } from 'tar-stream';
import type { KernfsDir } from '../kernel/kernfs.ts';
import type { Lpar } from './lpar.ts';

export function sysfsTar(lpar: Lpar): ReturnType<typeof pack> {
  const archive = pack();
  const base = lpar.of.root?.kobj.dir;
  const mtime = new Date(Date.parse(lpar.config.createdAt));
  const walk = (dir: KernfsDir, prefix: string) => {
    archive.entry({ name: `${prefix}/`, type: 'directory', mode: dir.mode, mtime });
    for (const entry of [...dir.entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = `${prefix}/${entry.name}`;
      if (entry.kind === 'dir') walk(entry, name);
      else if (entry.kind === 'file')
        archive.entry({ name, mode: entry.mode, mtime }, Buffer.from(lpar.run('cat', () => entry.read())));
      else archive.entry({ name, type: 'symlink', linkname: entry.target, mode: 0o777, mtime });
    }
  };
  if (base) walk(base, 'base');
  archive.finalize();
  return archive;
}
