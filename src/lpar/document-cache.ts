// The node documents an LPAR answered since its last kernel action. Pollers ask for the same few nodes
// again and again (a watch on the platform-facilities, the web view), and looking changes nothing
// (DESIGN.md), so while Lpar.actions has not moved the text is the text written last time. Any kernel
// action (Lpar.run) empties it: the same counter tells the journal that a request changed the model.
// Bounded in entries and in the size of a document, so a large tree cannot grow it.

import type { DeviceNode } from '../of/node.ts';

const ENTRIES = 16;
const MAX_DOCUMENT_CHARS = 64 * 1024;

export class NodeDocumentCache {
  private actions = -1;
  private readonly docs = new Map<DeviceNode, string>();

  /** The document of `np` as last written, if no kernel action ran since (`actions` is Lpar.actions). */
  get(actions: number, np: DeviceNode): string | undefined {
    if (actions !== this.actions) {
      this.docs.clear();
      this.actions = actions;
      return undefined;
    }
    return this.docs.get(np);
  }

  put(actions: number, np: DeviceNode, json: string): void {
    if (actions !== this.actions || json.length > MAX_DOCUMENT_CHARS) return;
    if (this.docs.size >= ENTRIES) this.docs.delete(this.docs.keys().next().value!);
    this.docs.set(np, json);
  }
}
