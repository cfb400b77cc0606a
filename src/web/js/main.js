// The web view's entry point: mounts the application on #app.

import htm from 'htm';
import { h, render } from 'preact';

const html = htm.bind(h);
render(html`<main><h1>lparsim</h1></main>`, document.getElementById('app'));
