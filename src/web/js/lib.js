// The view library, vendored from node_modules (routes/web.ts): preact with htm templates, no build step.
import htm from 'htm';
import { Fragment, h, render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';

export const html = htm.bind(h);
export { Fragment, render, useCallback, useEffect, useMemo, useRef, useState };

/** The five node states in the order a node can pass through them, with their labels. */
export const STATES = ['attached', 'detached', 'released', 'freed', 'orphaned'];

export const enc = encodeURIComponent;

/** A number with thin separators (counts of nodes, bytes). */
export const num = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
