// The web view's entry point: the header, the token dialog, the error banner and the routes.

import { setTokenPrompt } from './api.js';
import { html, render, useEffect, useRef, useState } from './lib.js';
import { ErrorBanner, useRoute } from './ui.js';
import { CompareView } from './views/compare.js';
import { LparView } from './views/lpar.js';
import { LparsView } from './views/lpars.js';

/** Asks for LPARSIM_TOKEN when the API answers 401; the token is kept for the tab (sessionStorage). */
function TokenDialog() {
  const [ask, setAsk] = useState(null);
  const dialog = useRef(null);
  useEffect(() => {
    setTokenPrompt((refused) => new Promise((resolve) => setAsk({ resolve, refused })));
  }, []);
  useEffect(() => {
    if (ask && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [ask]);
  if (!ask) return null;
  const submit = (ev) => {
    ev.preventDefault();
    const token = new FormData(ev.target).get('token').trim();
    if (!token) return;
    dialog.current.close();
    setAsk(null);
    ask.resolve(token);
  };
  return html`<dialog ref=${dialog} class="token" aria-labelledby="token-title">
    <form onSubmit=${submit}>
      <h2 id="token-title">API token</h2>
      <p>
        ${ask.refused ? 'The service refused that token. ' : ''}This service runs with LPARSIM_TOKEN: give the
        token once, it is kept for this tab.
      </p>
      <label>Token <input name="token" type="password" autocomplete="off" required autofocus /></label>
      <button type="submit">Use token</button>
    </form>
  </dialog>`;
}

function App() {
  const route = useRoute();
  let view;
  if (route[0] === 'lpars' && route[1])
    view = html`<${LparView} key=${route[1]} id=${route[1]} node=${route[3] ?? null} />`;
  else if (route[0] === 'compare')
    view = html`<${CompareView} a=${route[1] ?? null} b=${route[2] ?? null} />`;
  else view = html`<${LparsView} />`;
  return html`
    <header class="top">
      <h1><a href="#/">lparsim</a></h1>
      <nav aria-label="Views">
        <a href="#/" aria-current=${route.length === 0 ? 'page' : undefined}>LPARs</a>
        <a href="#/compare" aria-current=${route[0] === 'compare' ? 'page' : undefined}>Compare</a>
        <a href="/docs">API</a>
      </nav>
    </header>
    <${ErrorBanner} />
    <${TokenDialog} />
    <main>${view}</main>
  `;
}

const root = document.getElementById('app');
// The loading note goes: preact 11 renders beside what the container already holds.
root.textContent = '';
render(html`<${App} />`, root);
