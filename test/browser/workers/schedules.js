// A module service worker for the Chromium fault schedules: `/sw/dl/<path>?drawn=<json>` is
// answered with `parallelGet()` of `<path>` on this origin, with the options the schedule drew,
// its stream handed to the page's response as a user would; `/sw/ping` is answered by the worker
// itself, with the rejections nobody handled in the worker since the last ping.
import { parallelGet } from 'parallel-get-stream';
import { answered, libraryOptions, takeRejections } from '../pages/schedule-run.js';
import { claimAtOnce } from './claim.js';

claimAtOnce();

self.addEventListener('fetch', (event) => {
	const url = new URL(event.request.url);
	if (url.pathname === '/sw/ping') {
		event.respondWith(Response.json({ pong: true, rejections: takeRejections() }));
		return;
	}
	if (!url.pathname.startsWith('/sw/dl/')) return;
	const target = new URL(url.pathname.slice('/sw/dl'.length), self.location.origin);
	const drawn = JSON.parse(url.searchParams.get('drawn'));
	event.respondWith(answered(parallelGet(target, { ...libraryOptions(drawn), signal: event.request.signal })));
});
