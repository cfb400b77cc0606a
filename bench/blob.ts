// Bench child: writes the flattened tree of a built-in power9 tree of about N nodes to a file, for the
// upload and DTB-codec measurements when the server could not give its tree.dtb (a create that
// fails at that size). The blob is the booted LPAR's tree (what tree.dtb exports) when the model can
// boot it, else the generated tree before boot (src/pseries/tree.ts), which the JSON says.
//
//   {"nodes":N,"file":"/tmp/…dtb"}

import { writeFileSync } from 'node:fs';
import { fdtEncode } from '../src/of/fdt.ts';
import { ofFlattenLiveTree } from '../src/of/unflatten.ts';
import { BUILTIN_SYSTEMS, HOME_SYSTEM } from '../src/pseries/systems.ts';
import { DEFAULT_TREE_OPTIONS, generateTree, treeProfile } from '../src/pseries/tree.ts';
import { coresFor, progress, sendResult } from './lib.ts';
import { benchRegistry, createLpar } from './lparsim.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as { nodes: number; file: string };
const cores = coresFor(args.nodes);
let blob: Uint8Array;
let source: string;
let bootError: string | null = null;
try {
  progress(`booting a ${cores}-core LPAR for its tree.dtb`);
  const registry = benchRegistry({ maxNodesPerLpar: 400_000 });
  const lpar = await createLpar(registry, { profile: 'power9', kernel: '5.16', options: { cores } });
  blob = fdtEncode(ofFlattenLiveTree(lpar.of.root!));
  source = 'booted LPAR (ofFlattenLiveTree + fdtEncode, as tree.dtb)';
} catch (e) {
  bootError = e instanceof Error ? e.message : String(e);
  progress(`boot failed (${bootError}); encoding the generated tree instead`);
  const profile = treeProfile('power9')!;
  const system = BUILTIN_SYSTEMS.find((s) => s.name === HOME_SYSTEM[profile.processor])!;
  blob = fdtEncode(
    generateTree(profile, system, {
      ...DEFAULT_TREE_OPTIONS,
      cores,
      phandleScheme: 'phyp',
      seed: 1,
      partitionName: 'bench',
      partitionNo: 1,
    }),
  );
  source = 'generated tree before boot (generateTree + fdtEncode): the model could not boot it';
}
writeFileSync(args.file, blob);
sendResult({ file: args.file, bytes: blob.length, cores, source, bootError });
