// The event stream of an LPAR: every state change the model reported, numbered, kept up to a limit,
// and pushed to subscribers (SSE). Ids are per LPAR so Last-Event-ID resumes a stream exactly.

import type { KernelEvent } from '../kernel/kernel.ts';

export interface LparEvent {
  readonly id: number;
  readonly lpar: string;
  /** Simulated kernel time, microseconds since boot. */
  readonly usec: number;
  readonly type: string;
  readonly data: KernelEvent;
}

export type EventListener = (event: LparEvent) => void;

export class EventLog {
  private readonly items: LparEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<EventListener>();
  private readonly closers = new Set<() => void>();
  private readonly lpar: string;
  private readonly limit: number;

  constructor(lpar: string, limit: number) {
    this.lpar = lpar;
    this.limit = limit;
  }

  append(events: readonly KernelEvent[], usec: number): void {
    for (const data of events) {
      const event: LparEvent = { id: this.nextId++, lpar: this.lpar, usec, type: data.type, data };
      this.items.push(event);
      for (const l of this.listeners) l(event);
    }
    // Trimmed in batches so that appending stays O(1) amortised.
    if (this.items.length > this.limit * 2) this.items.splice(0, this.items.length - this.limit);
  }

  since(lastId: number): LparEvent[] {
    return this.items.filter((e) => e.id > lastId);
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` when the LPAR is deleted (open streams end then). */
  onClose(fn: () => void): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  close(): void {
    for (const fn of [...this.closers]) fn();
    this.closers.clear();
    this.listeners.clear();
  }
}

/** Events of every LPAR of an instance, with ids global to it. */
export class EventHub {
  private readonly items: Array<{ id: number; event: LparEvent }> = [];
  private nextId = 1;
  private readonly listeners = new Set<(e: LparEvent, id: number) => void>();
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  publish(event: LparEvent): void {
    const id = this.nextId++;
    this.items.push({ id, event });
    if (this.items.length > this.limit * 2) this.items.splice(0, this.items.length - this.limit);
    for (const l of this.listeners) l(event, id);
  }

  /** Events after `lastId`, each with its global id. */
  since(lastId: number): Array<{ id: number; event: LparEvent }> {
    return this.items.filter((i) => i.id > lastId);
  }

  subscribe(listener: (e: LparEvent, id: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
