// The scenario runner (scenarios/README.md): drives LPARs through the API, once per kernel a scenario
// names, and reports every failed expectation with what was expected and what was seen. It talks to
// the service only through the client, so the same scenario runs in-process or against a URL. The step
// language and its types come from schema.ts; a scenario is validated before it runs.

import {
  ApiError,
  type ClientNodeRef,
  type CreateLpar,
  type LparsimClient,
  type Node,
} from '../client/client.ts';
import {
  COUNT_NAMES,
  type ExpectStep,
  type KernelName,
  type NodeRef,
  type Scenario,
  type Step,
} from './schema.ts';
import { appliesTo, checkScenario } from './validate.ts';

export type { Scenario } from './schema.ts';

export interface ScenarioResult {
  readonly scenario: string;
  readonly kernel: string;
  readonly ok: boolean;
  readonly failures: string[];
  /** Steps that ran for this kernel. */
  readonly steps: number;
  readonly durationMs: number;
}

/** A step that cannot go on (a label or reference it names does not exist): ends the run. */
class StepFailure extends Error {}

/** `\xNN` escapes of a scenario's ofdt command become bytes; everything else is UTF-8. */
export function decodeCommand(command: string): Uint8Array {
  const out: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < command.length; ) {
    if (
      command[i] === '\\' &&
      command[i + 1] === 'x' &&
      /^[0-9a-fA-F]{2}$/.test(command.slice(i + 2, i + 4))
    ) {
      out.push(Number.parseInt(command.slice(i + 2, i + 4), 16));
      i += 4;
    } else {
      const cp = command.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out.push(...utf8.encode(ch));
      i += ch.length;
    }
  }
  return Uint8Array.from(out);
}

const show = (v: unknown) => JSON.stringify(v);
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

type ExpectChecks<K extends keyof ExpectStep> = NonNullable<ExpectStep[K]>;

class Run {
  readonly failures: string[] = [];
  private readonly labels = new Map<string, string>();
  private readonly refs = new Map<string, string>();
  /** Overlays an overlay step named with `as`: their ids. */
  private readonly overlays = new Map<string, number>();
  readonly kept = new Map<string, Uint8Array>();
  private dmesgMark = 0;
  private readonly client: LparsimClient;
  private readonly lpar: string;

  constructor(client: LparsimClient, lpar: string) {
    this.client = client;
    this.lpar = lpar;
  }

  fail(where: string, message: string): void {
    this.failures.push(`${where}: ${message}`);
  }

  /**
   * The node a reference names, as a node document, or null when there is none. `label` and `path`
   * only inspect (GET …/nodes/{address}, GET …/nodes?path=…: no reference, no cache); `phandle` is
   * of_find_node_by_phandle as a kernel caller (GET …/phandles/{phandle}: get and put, cache effects).
   */
  async node(sel: NodeRef): Promise<Node | null> {
    if ('label' in sel) {
      const address = this.labels.get(sel.label);
      if (!address) throw new StepFailure(`no node labelled ${show(sel.label)}`);
      return this.client.nodeByAddress(this.lpar, address);
    }
    if ('path' in sel) {
      try {
        return await this.client.nodeByPath(this.lpar, sel.path);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    }
    return (await this.client.findNodeByPhandle(this.lpar, sel.phandle)).node;
  }

  /** A reference's address without fetching the node (a label is its address). */
  async address(sel: NodeRef): Promise<string | null> {
    if ('label' in sel) {
      const address = this.labels.get(sel.label);
      if (!address) throw new StepFailure(`no node labelled ${show(sel.label)}`);
      return address;
    }
    return (await this.node(sel))?.address ?? null;
  }

  private async mustAddress(sel: NodeRef): Promise<string> {
    const address = await this.address(sel);
    if (!address) throw new StepFailure(`${show(sel)} names no node`);
    return address;
  }

  /** Runs a kernel call that answers an errno as a problem: fails unless it is `expected` (or none). */
  private async expectErrno(where: string, expected: string | undefined, call: () => Promise<void>) {
    try {
      await call();
      if (expected) this.fail(where, `expected ${expected}, the call succeeded`);
    } catch (e) {
      if (!(e instanceof ApiError) || !e.problem.errno) throw e;
      if (e.problem.errno !== expected)
        this.fail(where, `expected ${expected ?? 'success'}, saw ${e.problem.errno} (${e.problem.detail})`);
    }
  }

  /**
   * A write(2) step: its answer is the bytes written, or the problem carrying the negative rc and
   * errno; `rc` and `expectError` say what it must be (success otherwise).
   */
  private async expectWrite(
    where: string,
    step: { rc?: number; expectError?: string },
    write: () => Promise<number>,
  ): Promise<void> {
    let rc: number;
    let errno: string | null = null;
    let detail = '';
    try {
      rc = await write();
    } catch (e) {
      if (!(e instanceof ApiError) || typeof e.problem.rc !== 'number') throw e;
      rc = e.problem.rc;
      errno = e.problem.errno ?? null;
      detail = ` (${e.problem.detail})`;
    }
    const saw = errno ? `${errno}, rc ${rc}${detail}` : `rc ${rc}`;
    if (step.rc !== undefined && rc !== step.rc) this.fail(where, `expected rc ${step.rc}, saw ${saw}`);
    else if (step.expectError !== undefined && errno !== step.expectError)
      this.fail(where, `expected ${step.expectError}, saw ${errno ? saw : `success (${saw})`}`);
    else if (step.rc === undefined && step.expectError === undefined && rc < 0)
      this.fail(where, `expected success, saw ${saw}`);
  }

  /**
   * The drc name of the connector behind the node at `path`, read as rpaphp's v1 check reads it: its
   * ibm,my-drc-index, found in its parent's ibm,drc-indexes, names the entry of ibm,drc-names.
   */
  private async drcNameOf(path: string): Promise<string> {
    const prop = (doc: { properties: ReadonlyArray<{ name: string; hex: string }> }, name: string) => {
      const p = doc.properties.find((x) => x.name === name);
      if (!p) throw new StepFailure(`${path}: no ${name} to name the slot by`);
      return Buffer.from(p.hex.replace(/^0x/, ''), 'hex');
    };
    const node = await this.client.nodeByPath(this.lpar, path);
    const parent = await this.client.nodeByPath(this.lpar, path.slice(0, path.lastIndexOf('/')) || '/');
    const index = prop(node, 'ibm,my-drc-index').readUInt32BE(0);
    const indexes = prop(parent, 'ibm,drc-indexes');
    const names = prop(parent, 'ibm,drc-names').subarray(4).toString('latin1').split('\0');
    for (let i = 0; 4 + 4 * i + 4 <= indexes.length; i++)
      if (indexes.readUInt32BE(4 + 4 * i) === index && names[i]) return names[i]!;
    throw new StepFailure(`${path}: its parent lists no drc name for index 0x${index.toString(16)}`);
  }

  async step(step: Step, where: string): Promise<void> {
    switch (step.do) {
      case 'label':
        this.labels.set(step.as, await this.mustAddress(step.node));
        return;
      case 'migrate':
        for (const to of step.to) {
          const m = await this.client.migrate(this.lpar, { destination: to });
          if (m.state !== 'completed') this.fail(where, `migration to ${to} ended ${m.state}`);
        }
        return;
      case 'ofdt': {
        const { expectError } = step;
        try {
          await this.client.ofdt(this.lpar, decodeCommand(step.command));
          if (expectError) this.fail(where, `expected ${expectError}, the write succeeded`);
        } catch (e) {
          if (!(e instanceof ApiError) || !e.problem.errno) throw e;
          if (e.problem.errno !== expectError)
            this.fail(
              where,
              `expected ${expectError ?? 'success'}, saw ${e.problem.errno} (${e.problem.detail})`,
            );
        }
        return;
      }
      case 'get': {
        // By phandle the holder itself is the kernel caller: of_find_node_by_phandle, keeping the
        // reference it returns. By path or label the node is found by inspection, then got.
        const ref: ClientNodeRef =
          'phandle' in step.node
            ? { phandle: step.node.phandle }
            : { address: await this.mustAddress(step.node) };
        const taken = await this.client.get(this.lpar, ref, step.holder);
        if (step.as) this.refs.set(step.as, taken.id);
        return;
      }
      case 'put': {
        if ('ref' in step) {
          const id = this.refs.get(step.ref);
          if (!id) throw new StepFailure(`no reference named ${show(step.ref)}`);
          await this.client.putRef(this.lpar, id);
          this.refs.delete(step.ref);
          return;
        }
        await this.client.putByHolder(this.lpar, { address: await this.mustAddress(step.node) }, step.holder);
        return;
      }
      case 'lookup': {
        const found = await this.client.findNodeByPhandle(this.lpar, step.phandle);
        if (step.as && found.node) this.labels.set(step.as, found.node.address);
        return;
      }
      case 'read': {
        const bytes = await this.client.read(this.lpar, step.path);
        if (step.as) this.kept.set(step.as, bytes);
        return;
      }
      case 'rebuildCache':
        await this.client.rebuildPhandleCache(this.lpar);
        return;
      case 'prrn': {
        // Firmware names a node by phandle: a path goes as it is (the service gives its phandle), a
        // phandle as written, a label as the phandle of the node it recorded.
        const nodes = [];
        for (const n of step.nodes) {
          if ('path' in n) nodes.push({ path: n.path });
          else if ('phandle' in n) nodes.push({ phandle: n.phandle });
          else {
            const doc = await this.client.getNodeByAddress(this.lpar, await this.mustAddress(n));
            nodes.push({ phandle: doc.phandle });
          }
        }
        const e = await this.client.prrnUpdate(this.lpar, {
          nodes,
          ...(step.scope !== undefined ? { scope: step.scope } : {}),
        });
        if (step.handled !== undefined && e.handled !== step.handled)
          this.fail(
            where,
            `expected the PRRN ${step.handled ? '' : 'not '}to be handled, the kernel's ${e.handling} ${e.handled ? 'ran' : 'did not run'} the update`,
          );
        return;
      }
      case 'overlay': {
        // loadScenarios reads a file step's overlay (compiling a .dts) and gives it here as base64.
        if (!('base64' in step))
          throw new StepFailure(
            `the overlay ${show(step.file)} is read when the scenario is loaded from its file (loadScenarios); a scenario built in code gives base64`,
          );
        const blob = Uint8Array.from(Buffer.from(step.base64, 'base64'));
        await this.expectErrno(where, step.expectError, async () => {
          const o = await this.client.applyOverlay(this.lpar, blob);
          if (step.as) this.overlays.set(step.as, o.id);
        });
        return;
      }
      case 'overlay-remove': {
        const id = this.overlays.get(step.overlay);
        if (id === undefined) throw new StepFailure(`no overlay named ${show(step.overlay)}`);
        await this.expectErrno(where, step.expectError, async () => {
          await this.client.removeOverlay(this.lpar, id);
          this.overlays.delete(step.overlay);
        });
        return;
      }
      case 'dlpar':
        await this.expectWrite(
          where,
          step,
          async () => (await this.client.writeDlpar(this.lpar, step.command)).rc,
        );
        return;
      case 'slot': {
        const name = step.drcName ?? (await this.drcNameOf(step.of!));
        const file = step.action === 'add' ? 'add_slot' : 'remove_slot';
        await this.expectWrite(
          where,
          step,
          async () => (await this.client.writeSlot(this.lpar, file, name)).rc,
        );
        return;
      }
      case 'expect':
        await this.expect(step, where);
        return;
      default: {
        const unknown: never = step;
        throw new StepFailure(`unknown step ${show(unknown)}`);
      }
    }
  }

  private async expect(e: ExpectStep, where: string): Promise<void> {
    if (e.dmesg) await this.expectDmesg(e.dmesg, where);
    if (e.sysfs) await this.expectSysfs(e.sysfs, where);
    for (const n of e.nodes ?? []) await this.expectNode(n, where);
    if (e.counts) {
      const want = e.counts;
      const seen = (await this.client.getLpar(this.lpar)).counts;
      for (const k of COUNT_NAMES)
        if (want[k] !== undefined && seen[k] !== want[k])
          this.fail(where, `counts.${k}: expected ${show(want[k])}, saw ${show(seen[k])}`);
    }
    if (e.lookup) await this.expectLookup(e.lookup, where);
    if (e.read) {
      const r = e.read;
      const bytes = await this.client.read(this.lpar, r.path);
      const want = new TextEncoder().encode(r.equals);
      if (Buffer.compare(Buffer.from(bytes), Buffer.from(want)) !== 0)
        this.fail(
          where,
          `read ${r.path}: expected ${show(r.equals)}, saw ${show(new TextDecoder().decode(bytes))}`,
        );
    }
    if (e.invariants === true) {
      const inv = await this.client.invariants(this.lpar);
      for (const i of inv.items)
        if (!i.ok) this.fail(where, `invariant ${i.name} fails: ${i.details.join('; ')}`);
    }
  }

  private async expectLookup(l: ExpectChecks<'lookup'>, where: string): Promise<void> {
    const found = await this.client.findNodeByPhandle(this.lpar, l.phandle);
    const seenNode = found.node ? ` (${found.node.lastKnownPath}, ${found.node.state})` : '';
    if (l.how !== undefined && found.how !== l.how)
      this.fail(where, `lookup ${l.phandle}: expected how ${show(l.how)}, saw ${show(found.how)}`);
    if (l.finds === null && found.node)
      this.fail(where, `lookup ${l.phandle}: expected nothing, found ${found.node.address}${seenNode}`);
    if (l.finds) {
      const want = await this.address(l.finds);
      const seen = found.node?.address ?? null;
      if (want !== seen)
        this.fail(
          where,
          `lookup ${l.phandle}: expected ${show(l.finds)} = ${want}, found ${seen}${seenNode}`,
        );
    }
  }

  private async expectDmesg(d: ExpectChecks<'dmesg'>, where: string): Promise<void> {
    const log = await this.client.dmesg(this.lpar, d.since === 'last' ? this.dmesgMark : 0);
    this.dmesgMark = log.next;
    const lines = log.items.map((l) => l.text);
    for (const want of d.contains ?? []) {
      if (!lines.includes(want))
        this.fail(where, `dmesg: expected the line ${show(want)}; ${lines.length} lines, none equal`);
    }
    for (const re of d.matches ?? []) {
      if (!lines.some((l) => new RegExp(re).test(l)))
        this.fail(where, `dmesg: expected a line matching /${re}/`);
    }
    for (const [re, n] of Object.entries(d.count ?? {})) {
      const seen = lines.filter((l) => new RegExp(re).test(l)).length;
      if (seen !== n) this.fail(where, `dmesg: expected ${n} lines matching /${re}/, saw ${seen}`);
    }
    for (const re of d.absent ?? []) {
      const hit = lines.find((l) => new RegExp(re).test(l));
      if (hit !== undefined) this.fail(where, `dmesg: expected no line matching /${re}/, saw ${show(hit)}`);
    }
  }

  private async exists(path: string): Promise<boolean> {
    try {
      // One entry is enough to know it exists: a big directory is not listed for it.
      await this.client.stat(this.lpar, path, { limit: 1 });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return false;
      throw e;
    }
  }

  private async expectSysfs(s: ExpectChecks<'sysfs'>, where: string): Promise<void> {
    for (const p of s.exists ?? [])
      if (!(await this.exists(p))) this.fail(where, `sysfs: expected ${p} to exist; it does not`);
    for (const p of s.absent ?? [])
      if (await this.exists(p)) this.fail(where, `sysfs: expected ${p} to be absent; it exists`);
    for (const [dir, want] of Object.entries(s.children ?? {})) {
      let seen: string[];
      try {
        // Every page of the listing, so a directory bigger than one page is compared whole.
        seen = ((await this.client.list(this.lpar, dir)).items ?? [])
          .filter((i) => i.type === 'dir')
          .map((i) => i.name)
          .sort();
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          this.fail(where, `sysfs: ${dir} does not exist (expected subdirectories ${show(want)})`);
          continue;
        }
        throw e;
      }
      if (show(seen) !== show([...want].sort()))
        this.fail(where, `sysfs: subdirectories of ${dir}: expected ${show(want)}, saw ${show(seen)}`);
    }
  }

  private async expectNode(n: ExpectChecks<'nodes'>[number], where: string): Promise<void> {
    const doc = await this.node(n.node);
    if (!doc) {
      this.fail(where, `node ${show(n.node)}: names no node`);
      return;
    }
    const label = `node ${show(n.node)} (${doc.lastKnownPath} @ ${doc.address})`;
    if (n.state !== undefined && doc.state !== n.state)
      this.fail(where, `${label}: expected state ${show(n.state)}, saw ${show(doc.state)}`);
    if (n.refcount !== undefined && doc.refcount !== n.refcount)
      this.fail(where, `${label}: expected refcount ${show(n.refcount)}, saw ${show(doc.refcount)}`);
    if (n.holders !== undefined) {
      const seen = doc.holders.map((h) => h.holder);
      if (!sameSet(seen, n.holders))
        this.fail(where, `${label}: expected holders ${show(n.holders)}, saw ${show(seen)}`);
    }
    if (n.flags !== undefined && !sameSet(doc.flags, n.flags))
      this.fail(where, `${label}: expected flags ${show(n.flags)}, saw ${show(doc.flags)}`);
  }
}

/** Runs `scenario` once for `kernel`: a fresh LPAR, every step that applies, then the LPAR is deleted. */
export async function runScenario(
  client: LparsimClient,
  scenario: Scenario,
  kernel: KernelName,
): Promise<ScenarioResult> {
  // Scenarios built in code get the same checks as files (a misspelt key must not pass).
  checkScenario(scenario, `scenario ${show(scenario.name)}`);
  const started = performance.now();
  const { profile, phandleScheme, seed, options, switches } = scenario.lpar;
  // `switches` (a what-if kernel) is passed as written; the service checks it too.
  const body: CreateLpar & { switches?: typeof switches } = {
    kernel,
    profile: profile ?? 'power9',
    ...(phandleScheme ? { phandleScheme } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(options ? { options } : {}),
    ...(switches ? { switches } : {}),
  };
  const lpar = await client.createLpar(body);
  const run = new Run(client, lpar.id);
  let steps = 0;
  try {
    for (const [i, step] of scenario.steps.entries()) {
      if (!appliesTo(step.kernel, kernel)) continue;
      steps += 1;
      const where = `step ${i + 1} (${step.do})`;
      try {
        await run.step(step, where);
      } catch (e) {
        if (e instanceof StepFailure) {
          run.fail(where, e.message);
          break;
        }
        if (e instanceof ApiError) {
          run.fail(where, `the service answered ${e.message}`);
          break;
        }
        throw e;
      }
    }
  } finally {
    await client.deleteLpar(lpar.id).catch(() => undefined);
  }
  return {
    scenario: scenario.name,
    kernel,
    ok: run.failures.length === 0,
    failures: run.failures,
    steps,
    durationMs: performance.now() - started,
  };
}

/** Runs `scenario` for each kernel it names (only `only`, when given). */
export async function runScenarioKernels(
  client: LparsimClient,
  scenario: Scenario,
  only?: string,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const kernel of scenario.kernels) {
    if (only && kernel !== only) continue;
    results.push(await runScenario(client, scenario, kernel));
  }
  return results;
}
