// The page's one way to the API: fetch with the bearer token when the service wants one (asked for once,
// kept in sessionStorage), and every error turned into the problem's title and detail.

const TOKEN_KEY = 'lparsim.token';
let promptForToken = null;
let asking = null;

/** The UI's dialog: resolves with the token the user typed (`refused` says the last one was wrong). */
export function setTokenPrompt(fn) {
  promptForToken = fn;
}

export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** One dialog for all the requests that were refused at once. */
export function askToken() {
  if (!asking) {
    const refused = sessionStorage.getItem(TOKEN_KEY) !== null;
    sessionStorage.removeItem(TOKEN_KEY);
    asking = (promptForToken ? promptForToken(refused) : Promise.reject(new Error('no token prompt'))).then(
      (token) => {
        sessionStorage.setItem(TOKEN_KEY, token);
        asking = null;
        return token;
      },
    );
  }
  return asking;
}

/** An API error as the problem document says it: `title` and `detail`, with the status and request id. */
export class ApiError extends Error {
  constructor(status, problem, method, path) {
    const title = problem?.title ?? `HTTP ${status}`;
    super(problem?.detail ? `${title}: ${problem.detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = problem?.detail ?? '';
    this.requestId = problem?.requestId ?? null;
    this.request = `${method} ${path}`;
  }
}

/**
 * `path` on this server. `json` is sent as JSON, `text` as the raw bytes of text/plain (an ofdt write).
 * Answers the parsed JSON (or the text of another type, or null for 204).
 */
export async function api(path, { method = 'GET', json, text } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { accept: 'application/json, application/problem+json', ...authHeaders() };
    let body;
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (text !== undefined) {
      headers['content-type'] = 'text/plain';
      body = text;
    }
    const res = await fetch(path, { method, headers, body });
    if (res.status === 401 && attempt < 3) {
      await askToken();
      continue;
    }
    const type = res.headers.get('content-type') ?? '';
    const parsed = res.status === 204 ? null : type.includes('json') ? await res.json() : await res.text();
    if (!res.ok) throw new ApiError(res.status, typeof parsed === 'object' ? parsed : null, method, path);
    return parsed;
  }
}

/** Every item of a paged listing (`items`, `next`), at most `max`. */
export async function all(path, max = 50_000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}limit=5000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < max);
  return items;
}
