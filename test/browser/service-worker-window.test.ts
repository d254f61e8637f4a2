/**
 * Chromium: a module service worker hands the stream of `parallelGet()` straight to the page's
 * response, for an object many times the read-ahead window (24 chunks of 1 MiB, 4 connections:
 * a window of 4 to 8 chunks). The network is faster than the page here, so the window fills and
 * the download must wait for the response to take bytes and free room, then go on: the case the
 * example's test, whose object fits in the window, never reaches.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { objectSha256 } from '../support/object.ts';
import { type Origin, type RequestRecord, startOrigin } from '../support/origin.ts';
import { useTestWorker } from './support/bundle.ts';
import { describeChromium, usePage } from './support/chromium.ts';
import { expectChunksAndHedges } from './support/site.ts';

const MiB = 1024 * 1024;
/** What the worker asks for (`test/browser/workers/window.js`). */
const CHUNK = MiB;
const CONCURRENCY = 4;
const SIZE = 24 * MiB;
/** Per connection, as in the field report. */
const RATE = 40_000_000;
/** How long the page waits for the whole object, and then for the worker's own answer. */
const READ_BOUND_MS = 30_000;
const PING_BOUND_MS = 10_000;

const gets = (records: RequestRecord[]): RequestRecord[] => records.filter((record) => record.method === 'GET');

interface PageRead {
	status: number;
	length: number;
	sha256: string | undefined;
	ended: boolean;
	ping: string;
}

describeChromium('Chromium: a service worker answering with parallelGet() for an object larger than the window', () => {
	const chromium = usePage();
	// The page and the worker on one origin, the data on another.
	const worker = useTestWorker('window', startOrigin);
	let data: Origin;

	beforeAll(async () => {
		data = await startOrigin();
		data.cors({
			allowOrigin: worker.site.origin,
			allowHeaders: ['Range', 'If-Match', 'If-Unmodified-Since'],
			exposeHeaders: ['Content-Range', 'ETag', 'Content-Length', 'Last-Modified'],
		});
	});
	afterAll(async () => {
		await data?.close();
	});
	beforeEach(async () => {
		await worker.open(chromium.page, `?data=${encodeURIComponent(data.origin)}`);
		data.resetStats();
	});

	it('a service worker answering with parallelGet() for an object larger than the window: the page reads it to the end, and the worker still answers other fetches', async () => {
		const object = data.put('/big.bin', { size: SIZE, seed: 11 });
		data.fault('/big.bin', () => ({ bytesPerSecond: RATE }));

		// Bounded on the page: a stalled read or an unanswered fetch comes back as what it got so
		// far, rather than hanging the test until its timeout.
		const read: PageRead = await chromium.page.evaluate(
			async ([readBound, pingBound]) => {
				const hex = (buffer: ArrayBuffer): string => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');
				const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> =>
					Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms))]);
				const state = { status: 0, length: 0, ended: false, pieces: [] as Uint8Array[] };
				const reading = (async () => {
					const response = await fetch('/sw/dl/big.bin');
					state.status = response.status;
					const reader = (response.body as ReadableStream<Uint8Array>).getReader();
					for (;;) {
						const { done, value } = await reader.read();
						if (done) break;
						state.pieces.push(value);
						state.length += value.byteLength;
					}
					state.ended = true;
				})();
				await within(reading, readBound);
				let sha256: string | undefined;
				if (state.ended) {
					const all = new Uint8Array(state.length);
					let offset = 0;
					for (const piece of state.pieces) {
						all.set(piece, offset);
						offset += piece.byteLength;
					}
					sha256 = hex(await crypto.subtle.digest('SHA-256', all));
				}
				const ping = await within(
					fetch('/sw/ping').then((response) => response.text()),
					pingBound,
				);
				return { status: state.status, length: state.length, sha256, ended: state.ended, ping };
			},
			[READ_BOUND_MS, PING_BOUND_MS] as const,
		);

		expect({ status: read.status, length: read.length, ended: read.ended }).toEqual({ status: 200, length: SIZE, ended: true });
		expect(read.sha256).toBe(await objectSha256(SIZE, 11));
		expect(read.ping).toBe('pong');

		// Every chunk was asked for from its first byte, pinned, and answered 206: the download
		// went on well past the first window. Any request beyond one per run is a hedge or a tail:
		// twice per chunk at most (the hedges that won do not use the budget up) and the steals
		// allowed (2 per slot).
		const records = gets(data.requestsTo('/big.bin'));
		expect(records.every((record) => record.status === 206)).toBe(true);
		expect(expectChunksAndHedges(records, SIZE, CHUNK, object.etag)).toBeLessThanOrEqual(2 * Math.ceil(SIZE / CHUNK) + 2 * CONCURRENCY);
		await data.whenIdle(15_000);
	});
});
