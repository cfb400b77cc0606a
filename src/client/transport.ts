// How the client reaches a service: over HTTP with undici, or in-process through fastify's inject.

import { request } from 'undici';

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Uint8Array;
}

/** A response whose body arrives as it is sent (an event stream). */
export interface StreamingResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly chunks: AsyncIterable<Uint8Array>;
}

export type Transport = ((req: HttpRequest) => Promise<HttpResponse>) & {
  /** Over a real connection only: the body as it comes, until it ends or `signal` aborts. */
  stream?: (req: HttpRequest, signal?: AbortSignal) => Promise<StreamingResponse>;
};

/**
 * HTTP over undici. With a token (the CLI and scenario runner pass LPARSIM_TOKEN) every request
 * carries `Authorization: Bearer <token>`.
 */
export function undiciTransport(baseUrl: string, token: string | undefined = undefined): Transport {
  const base = baseUrl.replace(/\/$/, '');
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const send = (req: HttpRequest, signal?: AbortSignal) =>
    request(`${base}${req.path}`, {
      method: req.method,
      headers: { ...auth, ...(req.headers ?? {}) },
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(signal ? { signal } : {}),
      // An event stream is quiet between heartbeats: no body timeout.
      bodyTimeout: 0,
    });
  const transport: Transport = async (req) => {
    const res = await send(req);
    const body = new Uint8Array(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers as HttpResponse['headers'], body };
  };
  transport.stream = async (req, signal) => {
    const res = await send(req, signal);
    return {
      status: res.statusCode,
      headers: res.headers as HttpResponse['headers'],
      chunks: res.body as AsyncIterable<Uint8Array>,
    };
  };
  return transport;
}

/** What the client needs of a fastify instance (structural, so the client does not import the app). */
export interface Injectable {
  inject(opts: {
    method: string;
    url: string;
    headers?: Record<string, string>;
    payload?: string | Buffer;
  }): Promise<{
    statusCode: number;
    headers: Record<string, string | string[] | number | undefined>;
    rawPayload: Buffer;
  }>;
}

export function injectTransport(app: Injectable): Transport {
  return async (req) => {
    const res = await app.inject({
      method: req.method,
      url: req.path,
      ...(req.headers ? { headers: req.headers } : {}),
      ...(req.body !== undefined
        ? { payload: typeof req.body === 'string' ? req.body : Buffer.from(req.body) }
        : {}),
    });
    const headers: HttpResponse['headers'] = {};
    for (const [k, v] of Object.entries(res.headers)) headers[k] = typeof v === 'number' ? String(v) : v;
    return { status: res.statusCode, headers, body: new Uint8Array(res.rawPayload) };
  };
}
