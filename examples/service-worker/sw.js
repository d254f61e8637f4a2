// A service worker that answers requests for large files with one parallel download: the page
// gets one ordinary, streamed 200 response, while this worker fetches ranges of the file in
// parallel and hands them over in order.
//
// Service workers cannot use import maps, so bundle this file once:
//   npx esbuild sw.js --bundle --format=esm --outfile=sw.bundle.js
// (or rolldown, Rollup, Vite...), and register `sw.bundle.js` with `{ type: 'module' }`. Keep it
// one file: a service worker cannot import(), so the hash code that verifies digests must be
// inlined (esbuild does so without --splitting; rolldown: `codeSplitting: false`; Rollup and
// Vite: `inlineDynamicImports: true`).
// For browsers without module service workers, bundle with `--format=iife` and register it
// without `type`. No top-level await: module service workers do not allow it.
import { parallelGet } from 'parallel-get-stream';

/** Which requests to take over: GETs of same-origin files under this path. */
const LARGE_FILES = '/large/';

self.addEventListener('install', () => {
	self.skipWaiting();
});

self.addEventListener('activate', (event) => {
	// Control the page that registered us right away, not only after its next load.
	event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
	const { request } = event;
	const url = new URL(request.url);
	if (request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(LARGE_FILES)) return;
	// A request that asks for a range itself (a <video> seeking) is left to the browser.
	if (request.headers.has('range')) return;
	event.respondWith(
		// `request` carries the page's headers, credentials and abort signal: when the page stops
		// reading or aborts, every range request stops too.
		parallelGet(request, { concurrency: 6 }).catch((error) => {
			// Nothing was sent yet (the first answer failed its checks, or was an error status):
			// let the browser fetch it normally, so the page sees the origin's own answer.
			console.warn('parallel download not possible, fetching normally:', error);
			return fetch(request);
		}),
	);
});
