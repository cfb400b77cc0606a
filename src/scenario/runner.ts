// The scenario runner (scenarios/README.md): drives LPARs through the API, once per kernel a scenario
// names, and reports every failed expectation with what was expected and what was seen. It talks to
// the service only through the client, so the same scenario runs in-process or against a URL.

import { ApiError, type ClientNodeRef, type LparsimClient } from '../client/client.ts';

type Kernels = string | string[] | undefined;
type NodeSel = { path: string } | { phandle: string | number } | { label: string };

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly tags?: string[];
  readonly kernels: string[];
  readonly lpar: {
    profile?: 'power9' | 'power10';
    phandleScheme?: 'phyp' | 'dtc';
    seed?: number;
    options?: Record<string, unknown>;
  };
  readonly steps: Step[];
}

type Step = { do: string; kernel?: Kernels; [key: string]: unknown };

export interface ScenarioResult {
  readonly scenario: string;
  readonly kernel: string;
  readonly ok: boolean;
  readonly failures: string[];
  readonly steps: number;
}

class StepFailure extends Error {}

function appliesTo(kernels: Kernels, kernel: string): boolean {
  if (kernels === undefined) return true;
  return (Array.isArray(kernels) ? kernels : [kernels]).includes(kernel);
}

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

class Run {
  readonly failures: string[] = [];
  private readonly labels = new Map<string, string>();
  private readonly refs = new Map<string, string>();
  readonly kept = new Map<string, Uint8Array>();
  private dmesgMark = 0;
  private readonly client: LparsimClient;
  private readonly lpar: string;
  private readonly kernel: string;

  constructor(client: LparsimClient, lpar: string, kernel: string) {
    this.client = client;
    this.lpar = lpar;
    this.kernel = kernel;
  }

  fail(where: string, message: string): void {
    this.failures.push(`${where}: ${message}`);
  }

  /** A node selector as an address; `phandle` runs the kernel lookup (get and put). */
  async address(sel: NodeSel, where: string): Promise<string | null> {
    if ('label' in sel) {
      const a = this.labels.get(sel.label);
      if (!a) throw new StepFailure(`${where}: no node labelled ${show(sel.label)}`);
      return a;
    }
    if ('path' in sel) {
      try {
        return (await this.client.nodeByPath(this.lpar, sel.path)).address;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    }
    const found = await this.client.lookup(this.lpar, sel.phandle);
    return found.node ? found.node.address : null;
  }

  /** The reference a get or put names: by path or address (a label is its address). */
  private async clientRef(sel: NodeSel, where: string): Promise<ClientNodeRef> {
    if ('path' in sel) return { path: sel.path };
    if ('phandle' in sel) return { phandle: sel.phandle };
    return { address: (await this.address(sel, where))! };
  }

  async step(step: Step, index: number): Promise<void> {
    const where = `step ${index + 1} (${step.do})`;
    switch (step.do) {
      case 'label': {
        const a = await this.address(step.node as NodeSel, where);
        if (!a) throw new StepFailure(`${where}: ${show(step.node)} names no node`);
        this.labels.set(step.as as string, a);
        return;
      }
      case 'migrate':
        for (const to of step.to as string[]) {
          const m = await this.client.migrate(this.lpar, { destination: to });
          if (m.state !== 'completed') this.fail(where, `migration to ${to} ended ${m.state}`);
        }
        return;
      case 'ofdt': {
        const expectError = step.expectError as string | undefined;
        try {
          await this.client.ofdt(this.lpar, decodeCommand(step.command as string));
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
        const ref = await this.client.get(
          this.lpar,
          await this.clientRef(step.node as NodeSel, where),
          step.holder as string,
        );
        if (step.as) this.refs.set(step.as as string, ref.id);
        return;
      }
      case 'put': {
        if (step.ref !== undefined) {
          const id = this.refs.get(step.ref as string);
          if (!id) throw new StepFailure(`${where}: no reference named ${show(step.ref)}`);
          await this.client.putRef(this.lpar, id);
          return;
        }
        const sel = step.node as NodeSel;
        const ref =
          'phandle' in sel
            ? { address: (await this.address(sel, where))! }
            : await this.clientRef(sel, where);
        await this.client.putByHolder(this.lpar, ref, step.holder as string);
        return;
      }
      case 'lookup': {
        const found = await this.client.lookup(this.lpar, step.phandle as string);
        if (step.as && found.node) this.labels.set(step.as as string, found.node.address);
        return;
      }
      case 'read': {
        const bytes = await this.client.read(this.lpar, step.path as string);
        if (step.as) this.kept.set(step.as as string, bytes);
        return;
      }
      case 'rebuildCache':
        await this.client.rebuildCache(this.lpar);
        return;
      case 'expect':
        if (appliesTo(step.kernel, this.kernel)) await this.expect(step, where);
        return;
      default:
        throw new StepFailure(`${where}: unknown step ${show(step.do)}`);
    }
  }

  private async expect(e: Step, where: string): Promise<void> {
    if (e.dmesg) await this.expectDmesg(e.dmesg as Record<string, unknown>, where);
    if (e.sysfs) await this.expectSysfs(e.sysfs as Record<string, unknown>, where);
    if (e.nodes) for (const n of e.nodes as Array<Record<string, unknown>>) await this.expectNode(n, where);
    if (e.counts) {
      const counts = (await this.client.getLpar(this.lpar)).counts as Record<string, unknown>;
      for (const [k, v] of Object.entries(e.counts as Record<string, unknown>)) {
        if (counts[k] !== v) this.fail(where, `counts.${k}: expected ${show(v)}, saw ${show(counts[k])}`);
      }
    }
    if (e.lookup) {
      const l = e.lookup as { phandle: string; finds?: NodeSel | null; how?: string };
      const found = await this.client.lookup(this.lpar, l.phandle);
      if (l.how !== undefined && found.how !== l.how)
        this.fail(where, `lookup ${l.phandle}: expected how ${show(l.how)}, saw ${show(found.how)}`);
      if (l.finds === null && found.node)
        this.fail(
          where,
          `lookup ${l.phandle}: expected nothing, found ${found.node.address} (${found.node.lastKnownPath}, ${found.node.state})`,
        );
      if (l.finds) {
        const want = await this.address(l.finds, where);
        const seen = found.node?.address ?? null;
        if (want !== seen)
          this.fail(
            where,
            `lookup ${l.phandle}: expected ${show(l.finds)} = ${want}, found ${seen}${found.node ? ` (${found.node.lastKnownPath}, ${found.node.state})` : ''}`,
          );
      }
    }
    if (e.read) {
      const r = e.read as { path: string; equals: string };
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

  private async expectDmesg(d: Record<string, unknown>, where: string): Promise<void> {
    const log = await this.client.dmesg(this.lpar, d.since === 'last' ? this.dmesgMark : 0);
    this.dmesgMark = log.next;
    const lines = log.items.map((l) => l.text);
    for (const want of (d.contains as string[] | undefined) ?? []) {
      if (!lines.includes(want))
        this.fail(where, `dmesg: expected the line ${show(want)}; ${lines.length} lines, none equal`);
    }
    for (const re of (d.matches as string[] | undefined) ?? []) {
      if (!lines.some((l) => new RegExp(re).test(l)))
        this.fail(where, `dmesg: expected a line matching /${re}/`);
    }
    for (const [re, n] of Object.entries((d.count as Record<string, number> | undefined) ?? {})) {
      const seen = lines.filter((l) => new RegExp(re).test(l)).length;
      if (seen !== n) this.fail(where, `dmesg: expected ${n} lines matching /${re}/, saw ${seen}`);
    }
    for (const re of (d.absent as string[] | undefined) ?? []) {
      const hit = lines.find((l) => new RegExp(re).test(l));
      if (hit !== undefined) this.fail(where, `dmesg: expected no line matching /${re}/, saw ${show(hit)}`);
    }
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await this.client.stat(this.lpar, path);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return false;
      throw e;
    }
  }

  private async expectSysfs(s: Record<string, unknown>, where: string): Promise<void> {
    for (const p of (s.exists as string[] | undefined) ?? [])
      if (!(await this.exists(p))) this.fail(where, `sysfs: expected ${p} to exist; it does not`);
    for (const p of (s.absent as string[] | undefined) ?? [])
      if (await this.exists(p)) this.fail(where, `sysfs: expected ${p} to be absent; it exists`);
    for (const [dir, want] of Object.entries((s.children as Record<string, string[]> | undefined) ?? {})) {
      let seen: string[];
      try {
        seen = ((await this.client.stat(this.lpar, dir)).items ?? [])
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

  private async expectNode(n: Record<string, unknown>, where: string): Promise<void> {
    const sel = n.node as NodeSel;
    const address = await this.address(sel, where);
    if (!address) {
      this.fail(where, `node ${show(sel)}: names no node`);
      return;
    }
    const doc = await this.client.nodeByAddress(this.lpar, address);
    const label = `node ${show(sel)} (${doc.lastKnownPath} @ ${address})`;
    if (n.state !== undefined && doc.state !== n.state)
      this.fail(where, `${label}: expected state ${show(n.state)}, saw ${show(doc.state)}`);
    if (n.refcount !== undefined && doc.refcount !== n.refcount)
      this.fail(where, `${label}: expected refcount ${show(n.refcount)}, saw ${show(doc.refcount)}`);
    if (n.holders !== undefined) {
      const seen = doc.holders.map((h) => h.holder);
      if (!sameSet(seen, n.holders as string[]))
        this.fail(where, `${label}: expected holders ${show(n.holders)}, saw ${show(seen)}`);
    }
    if (n.flags !== undefined && !sameSet(doc.flags, n.flags as string[]))
      this.fail(where, `${label}: expected flags ${show(n.flags)}, saw ${show(doc.flags)}`);
  }
}

export async function runScenario(
  client: LparsimClient,
  scenario: Scenario,
  kernel: string,
): Promise<ScenarioResult> {
  const lpar = await client.createLpar({
    kernel: kernel as never,
    profile: scenario.lpar.profile ?? 'power9',
    ...(scenario.lpar.phandleScheme ? { phandleScheme: scenario.lpar.phandleScheme } : {}),
    ...(scenario.lpar.seed !== undefined ? { seed: scenario.lpar.seed } : {}),
    ...(scenario.lpar.options ? { options: scenario.lpar.options as never } : {}),
  });
  const run = new Run(client, lpar.id, kernel);
  let steps = 0;
  try {
    for (const [i, step] of scenario.steps.entries()) {
      if (step.do !== 'expect' && !appliesTo(step.kernel, kernel)) continue;
      steps += 1;
      try {
        await run.step(step, i);
      } catch (e) {
        if (e instanceof StepFailure) {
          run.fail(`step ${i + 1}`, e.message);
          break;
        }
        if (e instanceof ApiError) {
          run.fail(`step ${i + 1} (${step.do})`, `the service answered ${e.message}`);
          break;
        }
        throw e;
      }
    }
  } finally {
    await client.deleteLpar(lpar.id).catch(() => undefined);
  }
  return { scenario: scenario.name, kernel, ok: run.failures.length === 0, failures: run.failures, steps };
}

/** Checks the shape of a parsed scenario file; returns what is wrong, or nothing. */
export function scenarioProblems(s: unknown): string[] {
  const problems: string[] = [];
  const o = s as Partial<Scenario>;
  if (typeof o !== 'object' || o === null) return ['not a JSON object'];
  if (typeof o.name !== 'string') problems.push('name must be a string');
  if (!Array.isArray(o.kernels) || o.kernels.length === 0) problems.push('kernels must be a non-empty list');
  if (typeof o.lpar !== 'object' || o.lpar === null) problems.push('lpar must be an object');
  if (!Array.isArray(o.steps)) problems.push('steps must be a list');
  else
    o.steps.forEach((st, i) => {
      if (typeof st?.do !== 'string') problems.push(`step ${i + 1} has no "do"`);
    });
  return problems;
}

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
