// The URL of an operation's documented example: its path with the example path parameters filled in,
// and the example query parameters (the examples and response-contract tests send both).

export interface ExampleParameter {
  readonly name: string;
  readonly in: string;
  readonly example?: unknown;
}

export function exampleUrl(path: string, parameters: readonly ExampleParameter[] = []): string {
  let url = path;
  const query = new URLSearchParams();
  for (const p of parameters) {
    if (p.example === undefined) continue;
    if (p.in === 'path') url = url.replace(`{${p.name}}`, String(p.example));
    else if (p.in === 'query') query.set(p.name, String(p.example));
  }
  return `${url}${query.size ? `?${query}` : ''}`;
}
