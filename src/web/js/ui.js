// Small shared pieces of the page: the error banner's feed, the state badge, and the hash router.

import { html, useEffect, useState } from './lib.js';

const listeners = new Set();

/** Shows an error (an ApiError shows its problem's title and detail) in the page's banner. */
export function reportError(err) {
  for (const l of listeners) l(err);
}

export function ErrorBanner() {
  const [errors, setErrors] = useState([]);
  useEffect(() => {
    const l = (err) => setErrors((list) => [...list.slice(-3), err]);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  if (!errors.length) return null;
  return html`<div class="errors" role="alert">
    ${errors.map(
      (e, i) => html`<div class="error" key=${i}>
        <strong class="problem-title">${e.title ?? e.name ?? 'Error'}</strong>
        ${e.status ? html` <span class="muted">(${e.status}${e.request ? `, ${e.request}` : ''})</span>` : ''}
        <div class="problem-detail">${e.detail ?? e.message}</div>
      </div>`,
    )}
    <button type="button" onClick=${() => setErrors([])} aria-label="Dismiss errors">Dismiss</button>
  </div>`;
}

/** Runs an async action, reporting its error; answers its value or undefined. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    reportError(err);
    return undefined;
  }
}

export function StateBadge({ state }) {
  return html`<span class="badge state-${state}" data-state=${state}>${state}</span>`;
}

/** The colour key of the node states, the one place their colours are shown with their names. */
export function Legend() {
  return html`<ul class="legend" aria-label="Node state colours">
    ${['attached', 'detached', 'released', 'freed', 'orphaned'].map(
      (s) => html`<li key=${s}><span class="swatch state-${s}" data-state=${s}></span>${s}</li>`,
    )}
  </ul>`;
}

/** The route in the hash: ['lpars', id, 'nodes', address], ['compare', a, b], or []. */
export function useRoute() {
  const parse = () =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const go = (...parts) => {
  location.hash = `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
};
