// A module service worker for the window test: `/sw/dl/<path>` is answered with
// `parallelGet()` of `<path>` on the data origin (the `data` parameter of this script's URL), in
// 1 MiB chunks over 4 connections, the stream handed straight to `new Response()` as a user
// would; `/sw/ping` is answered by the worker itself, to show it still answers. Registered by
// `window.html` (a copy of `page.html`, which hands it the page's `data`); bundled as the
// service-worker example is.
import { parallelGet } from 'parallel-get-stream';
import { claimAtOnce } from './claim.js';

const data = new URL(self.location.href).searchParams.get('data');

claimAtOnce();

self.addEventListener('fetch', (event) => {
	const url = new URL(event.request.url);
	if (url.pathname === '/sw/ping') {
		event.respondWith(new Response('pong'));
		return;
	}
	if (!url.pathname.startsWith('/sw/dl/')) return;
	const target = new URL(url.pathname.slice('/sw/dl'.length), data);
	event.respondWith(parallelGet(target, { concurrency: 4, chunkSize: 1024 * 1024, signal: event.request.signal }));
});
