// An LPAR's event stream, read with fetch rather than EventSource: EventSource cannot send the bearer
// header a service with LPARSIM_TOKEN wants. Reconnects with Last-Event-ID, as EventSource would.

import { askToken, authHeaders } from './api.js';

/** The id of the last event kept for `lpar` (the backlog is sent and the response ends), or 0. */
export async function lastEventId(lpar) {
  let last = 0;
  await read(`/v1/lpars/${encodeURIComponent(lpar)}/events?follow=false`, 0, null, (e) => {
    last = e.id;
  });
  return last;
}

async function read(url, since, signal, onEvent) {
  const headers = { accept: 'text/event-stream', ...authHeaders() };
  if (since > 0) headers['last-event-id'] = String(since);
  const res = await fetch(url, { headers, signal });
  if (res.status === 401) {
    await askToken();
    return read(url, since, signal, onEvent);
  }
  if (!res.ok) throw Object.assign(new Error(`event stream: HTTP ${res.status}`), { status: res.status });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) onEvent(JSON.parse(data));
    }
  }
}

/**
 * Follows `lpar`'s events after `since`, calling `onBatch` with the events that arrived together (once
 * per frame, so a migration's burst re-renders once a frame, not once an event). `onStatus` hears
 * 'live', 'reconnecting' and 'ended'. Returns the function that stops it.
 */
export function follow(lpar, since, onBatch, onStatus = () => {}) {
  let last = since;
  let stopped = false;
  let controller = null;
  let queue = [];
  let frame = 0;
  const flush = () => {
    frame = 0;
    const batch = queue;
    queue = [];
    if (!stopped && batch.length) onBatch(batch);
  };
  const url = `/v1/lpars/${encodeURIComponent(lpar)}/events`;
  (async () => {
    while (!stopped) {
      controller = new AbortController();
      let ended = false;
      try {
        onStatus('live');
        await read(url, last, controller.signal, (e) => {
          last = e.id;
          queue.push(e);
          if (e.type === 'lpar.rebooted' || e.type === 'lpar.deleted') ended = true;
          if (!frame) frame = requestAnimationFrame(flush);
        });
      } catch (err) {
        if (stopped) return;
        if (err.status === 404) ended = true;
      }
      if (ended) {
        onStatus('ended');
        return;
      }
      if (!stopped) {
        onStatus('reconnecting');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
