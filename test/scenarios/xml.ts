// A minimal XML reader for the JUnit tests: enough to prove a document well-formed (one root, tags
// nested and closed, attributes quoted, only the five entities and character references, no
// character XML 1.0 forbids) and to read elements, attributes and text back.

export interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  if (/[<]/.test(raw)) throw new Error(`raw < in ${where}`);
  return raw.replace(/&([^;]*);?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw new Error(`unterminated entity in ${where}: ${m}`);
    if (name in ENTITIES) return ENTITIES[name]!;
    const ref = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(name);
    if (!ref) throw new Error(`unknown entity &${name}; in ${where}`);
    return String.fromCodePoint(
      Number.parseInt(ref[1]!.replace(/^x/, ''), ref[1]!.startsWith('x') ? 16 : 10),
    );
  });
}

function checkChars(xml: string): void {
  for (let i = 0; i < xml.length; i++) {
    const c = xml.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = xml.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new Error(`lone surrogate at ${i}`);
      i += 1;
      continue;
    }
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || (c >= 0xdc00 && c <= 0xdfff) || c >= 0xfffe)
      throw new Error(`character U+${c.toString(16)} not allowed in XML at ${i}`);
  }
}

export function parseXml(xml: string): XmlElement {
  checkChars(xml);
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const tag = /^<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*\s*=\s*"[^"]*")*)\s*(\/?)>/;
  while (rest.length) {
    if (rest.startsWith('<')) {
      const m = tag.exec(rest);
      if (!m) throw new Error(`malformed tag: ${rest.slice(0, 40)}`);
      const [whole, close, name, attrText, selfClose] = m;
      rest = rest.slice(whole.length);
      if (close) {
        const open = stack.pop();
        if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
        continue;
      }
      const attrs: Record<string, string> = {};
      for (const a of attrText!.matchAll(/([A-Za-z_][\w.-]*)\s*=\s*"([^"]*)"/g)) {
        if (a[1]! in attrs) throw new Error(`attribute ${a[1]} twice`);
        attrs[a[1]!] = decode(a[2]!, `attribute ${a[1]}`);
      }
      const el: XmlElement = { name: name!, attrs, children: [], text: '' };
      if (stack.length) stack.at(-1)!.children.push(el);
      else if (root) throw new Error('a second root element');
      else root = el;
      if (!selfClose) stack.push(el);
    } else {
      const end = rest.indexOf('<');
      const raw = end < 0 ? rest : rest.slice(0, end);
      rest = end < 0 ? '' : rest.slice(end);
      if (!stack.length) {
        if (raw.trim()) throw new Error(`text outside the root: ${raw.slice(0, 40)}`);
        continue;
      }
      stack.at(-1)!.text += decode(raw, `<${stack.at(-1)!.name}>`);
    }
  }
  if (stack.length) throw new Error(`<${stack.at(-1)!.name}> is never closed`);
  if (!root) throw new Error('no root element');
  return root;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => findAll(c, name))];
}
