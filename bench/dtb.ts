// Bench child: DTB parse (fdtDecode) and encode (fdtEncode) against fdtdump on the same blob, which
// run.ts saved from the server's tree.dtb of its largest LPAR. fdtdump is C and linear, a fair floor;
// `dtc -I dtb -O dtb` is not (minutes on wide trees). fdtdump runs through spawnSync with its output
// to /dev/null, as `hyperfine 'fdtdump blob > /dev/null'` would; so its figure includes the process
// start, a few ms, which favours lparsim.
//
//   {"file":"/tmp/…dtb","reps":7}     the blob run.ts saved (tree.dtb, or blob.ts's)

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fdtDecode, fdtEncode } from '../src/of/fdt.ts';
import { fullGc, median, progress, sendResult } from './lib.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as { file: string; reps: number };
const blob = new Uint8Array(readFileSync(args.file));
const limits = { maxNodes: 10_000_000, maxDepth: 1024 };

progress(`fdtdump, parse and encode of a ${(blob.length / 2 ** 20).toFixed(1)} MiB blob`);
const which = spawnSync('sh', ['-c', 'command -v fdtdump'], { encoding: 'utf8' });
const haveFdtdump = which.status === 0;
const devnull = openSync('/dev/null', 'w');
let status: number | null = null;
let root: ReturnType<typeof fdtDecode> | null = fdtDecode(blob, limits);
let encodedBytes = 0;
const runs = {
  fdtdump: () => {
    status = spawnSync('fdtdump', [args.file], { stdio: ['ignore', devnull, 'ignore'] }).status;
  },
  parse: () => {
    root = fdtDecode(blob, limits);
  },
  encode: () => {
    encodedBytes = fdtEncode(root!).length;
  },
};
// Interleaved, one of each per repetition, so that load from elsewhere on the machine hits all three
// alike; the first repetition warms up and is not counted.
const ms = { fdtdump: [] as number[], parse: [] as number[], encode: [] as number[] };
for (let r = 0; r <= args.reps; r++)
  for (const key of ['fdtdump', 'parse', 'encode'] as const) {
    if (key === 'fdtdump' && !haveFdtdump) continue;
    // A parse starts with the previous tree collected, as an upload does.
    if (key === 'parse') root = null;
    fullGc();
    const t0 = performance.now();
    runs[key]();
    if (r > 0) ms[key].push(performance.now() - t0);
  }
closeSync(devnull);
const fdtdump = haveFdtdump
  ? { medianMs: median(ms.fdtdump), ms: ms.fdtdump, status }
  : { error: 'fdtdump not installed (apt-get install -y device-tree-compiler)' };
const parse = { medianMs: median(ms.parse), ms: ms.parse };
const encode = { medianMs: median(ms.encode), ms: ms.encode };
let nodes = 0;
const stack = [root!];
while (stack.length) {
  const n = stack.pop()!;
  nodes += 1;
  for (const c of n.children) stack.push(c);
}
sendResult({
  file: args.file,
  bytes: blob.length,
  nodes,
  encodedBytes,
  reps: args.reps,
  fdtdump,
  parse,
  encode,
});
