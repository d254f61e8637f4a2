// A service worker without the library (test/browser/service-worker-stream-error.test.ts):
// `/sw/race/<id>` is answered with a plain ReadableStream whose pull() enqueues 100003 bytes at
// once and returns nothing, as long as the page reads; a message `<id>` on the BroadcastChannel
// 'race' errors that stream with an Error of its own. No promise of this script can reject: pull()
// returns none, and the stream is errored from the message's listener. `/sw/ping` answers with
// what each race saw (errored, cancelled, in which order) and the unhandled rejections since the
// last ping.
import { claimAtOnce } from './claim.js';

const PIECE = 100_003;
const rejections = [];
const races = new Map();

self.addEventListener('unhandledrejection', (event) => {
	rejections.push(event.reason instanceof Error ? event.reason.message : String(event.reason));
});

new BroadcastChannel('race').addEventListener('message', ({ data }) => {
	const race = races.get(data);
	if (!race) return;
	race.events.push('error');
	race.controller.error(new Error(`the stream's own error, race ${data}`));
});

claimAtOnce();

self.addEventListener('fetch', (event) => {
	const url = new URL(event.request.url);
	if (url.pathname === '/sw/ping') {
		const answer = { races: Object.fromEntries([...races].map(([id, race]) => [id, race.events])), rejections: rejections.splice(0) };
		races.clear();
		event.respondWith(Response.json(answer));
		return;
	}
	if (!url.pathname.startsWith('/sw/race/')) return;
	const id = url.pathname.slice('/sw/race/'.length);
	const race = { controller: undefined, events: [] };
	races.set(id, race);
	const body = new ReadableStream(
		{
			start(controller) {
				race.controller = controller;
			},
			pull(controller) {
				controller.enqueue(new Uint8Array(PIECE));
			},
			cancel() {
				race.events.push('cancel');
			},
		},
		{ highWaterMark: 0 },
	);
	event.respondWith(new Response(body));
});
