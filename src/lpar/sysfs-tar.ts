// /sys/firmware/devicetree/base as a tar archive that `dtc -I fs` reads back into the same tree.
// The entries are taken in one synchronous pass (so the archive is the tree at one instant, never half
// way through a mutation; property values are shared, not copied), then fed to the packer one at a
// time, waiting for it to have room: memory stays at the snapshot, not the whole archive.
//
// An export only looks (issue 9): a property file's bytes are taken from the property it shows, as
// the kernel's read would copy them, without running the file's reader, entering a task or taking a
// reference; nodes are matched to their directories by walking the tree beside the directories.

import { pack } from 'tar-stream';
import type { KernfsDir, KernfsFile, KernfsNode } from '../kernel/kernfs.ts';
import type { DeviceNode, NodeProperty } from '../of/node.ts';
import type { Lpar } from './lpar.ts';
import { readViewFile } from './views.ts';

interface TarEntry {
  readonly name: string;
  readonly kind: 'dir' | 'file' | 'link';
  readonly mode: number;
  readonly content?: Uint8Array;
  readonly target?: string;
}

/**
 * What a read of a property's file returns: of_node_property_read copies from the value and
 * sysfs_kf_bin_read clamps the read to the attribute's size (0 for `security-` properties, K-SYSFS-1).
 */
function propertyFileBytes(file: KernfsFile, pp: NodeProperty): Uint8Array {
  return pp.value.subarray(0, file.size());
}

function snapshot(lpar: Lpar): TarEntry[] {
  const entries: TarEntry[] = [];
  const root = lpar.of.root;
  const base = root?.kobj.dir;
  if (!root || !base) return entries;
  const walk = (dir: KernfsDir, np: DeviceNode | null, prefix: string) => {
    entries.push({ name: `${prefix}/`, kind: 'dir', mode: dir.mode });
    // What the node behind `dir` owns in it: its property files and its children's directories.
    const files = new Map<KernfsNode, NodeProperty>();
    const dirs = new Map<KernfsNode, DeviceNode>();
    if (np) {
      for (const pp of np.properties) if (pp.sysfs) files.set(pp.sysfs, pp);
      for (let c = np.child; c; c = c.sibling) if (c.kobj.dir) dirs.set(c.kobj.dir, c);
    }
    for (const entry of [...dir.entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = `${prefix}/${entry.name}`;
      if (entry.kind === 'dir') walk(entry, dirs.get(entry) ?? null, name);
      else if (entry.kind === 'file') {
        const pp = files.get(entry);
        // Only the OF core adds files here, so every one is a property's; anything else is read as
        // a read(2) of it would be.
        const content = pp ? propertyFileBytes(entry, pp) : (readViewFile(lpar, entry) ?? new Uint8Array(0));
        entries.push({ name, kind: 'file', mode: entry.mode, content });
      } else entries.push({ name, kind: 'link', mode: 0o777, target: entry.target });
    }
  };
  walk(base, root, 'base');
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
