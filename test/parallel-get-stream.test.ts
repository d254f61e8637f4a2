/**
 * The engine against a real HTTP/1.1 origin on 127.0.0.1, once with the runtime's ReadableStream
 * and once with web-streams-polyfill's (the reference implementation), so that any misuse of the
 * stream controller shows up. Output is checked by hash; requests by the origin's own log.
 */
import { createHash } from 'node:crypto';
import { getEventListeners } from 'node:events';
import ky from 'ky';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import * as native from '../src/index.ts';
import * as ponyfill from '../src/ponyfill.ts';
import { drain, readToError, rejection } from './support/collect.ts';
import { objectSha256 } from './support/object.ts';
import { expectChunkRuns } from './support/runs.ts';
import { useOrigin } from './support/use-origin.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const fast = { retry: { limit: 3, delay: () => 1, jitter: false } } as const;

const origin = useOrigin();

/** Requests to `path` with their Range and precondition headers. */
function log(path: string): { range: string | undefined; ifMatch: string | undefined; ifUnmodifiedSince: string | undefined; aborted: boolean }[] {
	return origin.requestsTo(path).map((record) => ({
		range: record.range,
		ifMatch: record.headers['if-match'],
		ifUnmodifiedSince: record.headers['if-unmodified-since'],
		aborted: record.aborted,
	}));
}

/**
 * Hedging and overlapping requests are tested in hedge.test.ts. Here both are off, so that the
 * exact request counts and the `concurrency` bound below hold on a busy machine too (a chunk
 * slowed by the load could otherwise be hedged).
 */
function withoutHedging(Base: typeof native.ParallelGetStream): typeof native.ParallelGetStream {
	return class extends Base {
		constructor(input: string | URL | Request, options?: native.ParallelGetOptions) {
			super(input, { hedge: false, overlap: false, ...options });
		}
	};
}

describe.each([
	['native ReadableStream', withoutHedging(native.ParallelGetStream)],
	['web-streams-polyfill', withoutHedging(ponyfill.ParallelGetStream)],
])('ParallelGetStream with %s', (_name, ParallelGetStream) => {
	it.each([
		['not a multiple of chunkSize', 3 * MiB + 123, 256 * KiB],
		['an exact multiple of chunkSize', 2 * MiB, 256 * KiB],
		['one byte more than a chunk', 64 * KiB + 1, 64 * KiB],
		['several MiB in large chunks', 9 * MiB + 7, 1 * MiB],
	])('delivers an object %s byte for byte', async (_case, size, chunkSize) => {
		const path = `/exact-${size}-${chunkSize}.bin`;
		const object = origin.put(path, { size, seed: size % 97 });
		const download = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 4 });
		const out = await drain(download.readable);
		expect(out).toMatchObject({ sha256: await objectSha256(size, object.seed), length: size });
		const info = await download.info;
		expect(info).toMatchObject({ size, mode: 'parallel', etag: object.etag });
		const runs = expectChunkRuns(log(path).map((request) => request.range), size, chunkSize);
		expect(download.stats).toMatchObject({ requests: runs.length, retries: 0, inFlight: 0, loaded: size });
		expect(origin.maxInFlight).toBeLessThanOrEqual(4);
	});

	it.each([
		['concurrency 1', { concurrency: 1 }, true],
		['a server that ignores Range', { concurrency: 2 }, false],
	])('one plain GET (%s) holds no more than the window for a consumer that stops reading, not the whole object', async (_case, options, acceptRanges) => {
		// Found by the fault schedules: a single response was read into memory as fast as the
		// network gave it, whatever the consumer's pace.
		const chunkSize = 64 * KiB;
		const windowBytes = 2 * options.concurrency * chunkSize;
		const size = 40 * windowBytes;
		const path = `/single-window-${options.concurrency}.bin`;
		const object = origin.put(path, { size, seed: 40, acceptRanges });
		const download = new ParallelGetStream(origin.url(path), { chunkSize, ...options });
		const reader = download.readable.getReader();
		const hash = createHash('sha256');
		hash.update((await reader.read()).value!);
		// The consumer stops: the response is no longer read once the window is full.
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(await download.info).toMatchObject({ mode: 'single' });
		expect(download.stats.bufferedBytes).toBeLessThanOrEqual(windowBytes);
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			hash.update(value);
		}
		expect(hash.digest('hex')).toBe(await object.sha256());
		expect(download.stats.maxBufferedBytes).toBeLessThanOrEqual(windowBytes);
		expect(origin.requestsTo(path)).toHaveLength(1);
	});

	it('discovers with a plain range, then pins every other request with If-Match', async () => {
		const object = origin.put('/pinned.bin', { size: MiB, seed: 2 });
		const download = new ParallelGetStream(origin.url('/pinned.bin'), { chunkSize: 256 * KiB, concurrency: 2 });
		await drain(download.readable);
		const requests = log('/pinned.bin');
		expect(requests[0]).toMatchObject({ range: 'bytes=0-262143', ifMatch: undefined });
		expect(requests.slice(1).map((request) => request.ifMatch)).toEqual([object.etag, object.etag, object.etag]);
		expect(requests.map((request) => request.range).sort()).toEqual(
			['bytes=0-262143', 'bytes=262144-524287', 'bytes=524288-786431', 'bytes=786432-1048575'].sort(),
		);
	});

	it('hands out the first bytes before the first chunk has arrived', async () => {
		origin.put('/early.bin', { size: 4 * MiB, seed: 3 });
		origin.fault('/early.bin', (request) => (request.count === 1 ? { stallAfterBytes: 100 * KiB } : undefined));
		const download = new ParallelGetStream(origin.url('/early.bin'), { chunkSize: MiB, concurrency: 2, stallTimeout: false });
		const reader = download.readable.getReader();
		const first = await reader.read();
		expect(first.done).toBe(false);
		expect(first.value!.byteLength).toBeGreaterThan(0);
		expect(first.value!.byteLength).toBeLessThanOrEqual(100 * KiB);
		await reader.cancel('enough');
		origin.fault('/early.bin', undefined);
		await origin.whenIdle();
	});

	// Found by the adaptive benchmark's faulty scenario: the consumer's wait counted only once it
	// ended, so while a retried or stalled head kept it waiting the window stayed at `concurrency`
	// chunks, and slots sat idle behind the head.
	it('a consumer kept waiting by a stalled head opens the window to 2 x concurrency chunks, for the slots to read on', async () => {
		const chunkSize = 64 * KiB;
		const concurrency = 2;
		const path = '/head-stalls.bin';
		origin.put(path, { size: 16 * chunkSize, seed: 5 });
		// The first request that covers chunk 1 stalls for good 1000 bytes in; nothing else is slow.
		let stalled = false;
		origin.fault(path, (request) => {
			if (stalled || request.range?.start !== chunkSize) return undefined;
			stalled = true;
			return { stallAfterBytes: 1000 };
		});
		const download = new ParallelGetStream(origin.url(path), { chunkSize, concurrency, hedge: false, overlap: false, stallTimeout: false });
		const reader = download.readable.getReader();
		const read = (async () => {
			for (;;) if ((await reader.read()).done) return;
		})().catch(() => undefined);
		// With the window at `concurrency` chunks past the head (chunk 1), chunk 3 never starts.
		await vi.waitFor(() => expect(origin.requestsTo(path).some((record) => (record.range ?? '').startsWith(`bytes=${3 * chunkSize}-`))).toBe(true), { timeout: 5000, interval: 20 });
		await reader.cancel('done');
		await read;
		origin.fault(path, undefined);
		await origin.whenIdle();
	});

	// Found by the adaptive benchmark's faulty scenario: the window opened only once the consumer
	// had spent half of the last half second waiting, about 350 ms of waiting from the start. A
	// head reset in the first round left the other slots idle behind it until then, or until its
	// retry.
	it('a head reset early: the window opens before the retry, for the slots to read on', async () => {
		const chunkSize = 64 * KiB;
		const concurrency = 2;
		const path = '/head-resets.bin';
		const object = origin.put(path, { size: 16 * chunkSize, seed: 7 });
		// The first request that covers chunk 1 is reset 1000 bytes in, and retried 250 ms later.
		let reset = false;
		origin.fault(path, (request) => {
			if (reset || request.range?.start !== chunkSize) return undefined;
			reset = true;
			return { resetAfterBytes: 1000 };
		});
		const download = new ParallelGetStream(origin.url(path), {
			chunkSize,
			concurrency,
			hedge: false,
			overlap: false,
			stallTimeout: false,
			retry: { limit: 2, delay: () => 250, jitter: false },
		});
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		origin.fault(path, undefined);
		const starts = origin.requestsTo(path).map((record) => (record.range ?? '').replace(/^bytes=(\d+)-.*$/, '$1'));
		const retried = starts.indexOf(String(chunkSize + 1000));
		expect(retried).toBeGreaterThan(0);
		// With the window at `concurrency` chunks past the head (chunk 1), chunk 3 waits for the retry.
		expect(starts.indexOf(String(3 * chunkSize))).toBeGreaterThan(0);
		expect(starts.indexOf(String(3 * chunkSize))).toBeLessThan(retried);
	});

	// Mutation testing: the download closed without ending itself, and nothing noticed.
	it("once it has closed, the download holds no listener on the caller's signal, and a later abort does nothing", async () => {
		const object = origin.put('/closed.bin', { size: 4 * 64 * KiB + 5, seed: 6 });
		const controller = new AbortController();
		const download = new ParallelGetStream(origin.url('/closed.bin'), { chunkSize: 64 * KiB, concurrency: 2, signal: controller.signal });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
		controller.abort(new Error('too late'));
		await expect(download.info).resolves.toMatchObject({ mode: 'parallel' });
	});

	it('keeps bytes held within the window for a consumer that stops reading', async () => {
		const chunkSize = 64 * KiB;
		const concurrency = 2;
		const windowBytes = 2 * concurrency * chunkSize;
		const size = 40 * windowBytes;
		const object = origin.put('/window.bin', { size, seed: 4 });
		const download = new ParallelGetStream(origin.url('/window.bin'), { chunkSize, concurrency });
		const reader = download.readable.getReader();
		await reader.read();
		// The consumer stops: requests stop once the window is full.
		await new Promise((resolve) => setTimeout(resolve, 300));
		await origin.whenIdle();
		const made = origin.requestsTo('/window.bin').length;
		// Discovery and at most one window of chunks, one or two to a request: how many requests
		// that took depends on the pace measured at the time (the window's size follows it).
		expect(made).toBeLessThanOrEqual(2 * concurrency + 1);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(origin.requestsTo('/window.bin').length).toBe(made);
		expect(download.stats.bufferedBytes).toBeLessThanOrEqual(windowBytes);
		// Reading on, slowly: the bound holds for the whole object, 40 windows long.
		let pieces = 0;
		for (;;) {
			const { done } = await reader.read();
			if (done) break;
			if (++pieces % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
			expect(download.stats.bufferedBytes).toBeLessThanOrEqual(windowBytes);
		}
		expect(download.stats.maxBufferedBytes).toBeLessThanOrEqual(windowBytes);
		expect(download.stats.maxInFlight).toBeLessThanOrEqual(concurrency);
		expect(origin.maxInFlight).toBeLessThanOrEqual(concurrency);
		// Each chunk asked for once, one or two to a request.
		const runs = expectChunkRuns(log('/window.bin').map((request) => request.range), size, chunkSize);
		expect(download.stats.requests).toBe(runs.length);
		expect(object.size).toBe(size);
	});

	it('fails with RevisionChangedError when the object is replaced during the download', async () => {
		origin.put('/rewrite.bin', { size: 2 * MiB, seed: 5 });
		origin.fault('/rewrite.bin', (request) => {
			if (request.count === 2) origin.put('/rewrite.bin', { size: 2 * MiB, seed: 6 });
			return undefined;
		});
		const download = new ParallelGetStream(origin.url('/rewrite.bin'), { chunkSize: 256 * KiB, concurrency: 2, ...fast });
		const error = await rejection(drain(download.readable));
		expect(error).toBeInstanceOf(native.RevisionChangedError);
		expect(error).toMatchObject({ name: 'RevisionChangedError', code: 'ERR_REVISION_CHANGED', status: 412 });
		expect(native.isRevisionChangedError(error)).toBe(true);
		await origin.whenIdle();
		// Aborted requests settle on the client a moment after the server sees them close.
		await vi.waitFor(() => expect(download.stats.inFlight).toBe(0));
		origin.fault('/rewrite.bin', undefined);
	});

	it('pins with If-Unmodified-Since when there is no ETag', async () => {
		const object = origin.put('/dated.bin', { size: MiB, seed: 7, etag: null });
		const download = new ParallelGetStream(origin.url('/dated.bin'), { chunkSize: 256 * KiB, concurrency: 3 });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect((await download.info).mode).toBe('parallel');
		const later = log('/dated.bin').slice(1);
		expect(later).toHaveLength(3);
		expect(later.every((request) => request.ifUnmodifiedSince === object.lastModified && request.ifMatch === undefined)).toBe(true);
	});

	it('reads an object with only a weak ETag in one plain GET, or in parallel when allowed', async () => {
		const object = origin.put('/weak.bin', { size: MiB, seed: 8, weakEtag: true, lastModified: null });
		const download = new ParallelGetStream(origin.url('/weak.bin'), { chunkSize: 256 * KiB, concurrency: 4 });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(await download.info).toMatchObject({ mode: 'single', size: MiB });
		// The discovery range is abandoned before any byte is handed out; one GET carries all.
		expect(log('/weak.bin').map((request) => request.range)).toEqual(['bytes=0-262143', undefined]);

		origin.resetStats();
		const unpinned = new ParallelGetStream(origin.url('/weak.bin'), { chunkSize: 256 * KiB, concurrency: 4, allowUnpinned: true });
		expect((await drain(unpinned.readable)).sha256).toBe(await object.sha256());
		expect((await unpinned.info).mode).toBe('parallel');
		expect(log('/weak.bin')).toHaveLength(4);
		expect(log('/weak.bin').every((request) => request.ifMatch === undefined)).toBe(true);
	});

	it('streams the discovery body when the server ignores Range, with no second request', async () => {
		const object = origin.put('/norange.bin', { size: 3 * MiB + 5, seed: 9, acceptRanges: false });
		const download = new ParallelGetStream(origin.url('/norange.bin'), { chunkSize: 256 * KiB, concurrency: 4 });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(await download.info).toMatchObject({ mode: 'single', size: 3 * MiB + 5 });
		expect(origin.requestsTo('/norange.bin')).toHaveLength(1);
	});

	it('gives an empty stream for an empty object (416 bytes */0)', async () => {
		origin.put('/empty.bin', { size: 0 });
		const download = new ParallelGetStream(origin.url('/empty.bin'), { chunkSize: 1024 });
		expect(await drain(download.readable)).toMatchObject({ length: 0, pieces: 0 });
		expect(await download.info).toMatchObject({ mode: 'empty', size: 0 });
		expect(origin.requestsTo('/empty.bin').map((record) => record.status)).toEqual([416]);
	});

	it('gives an empty stream for an empty 200', async () => {
		origin.put('/empty200.bin', { size: 0, acceptRanges: false });
		const download = new ParallelGetStream(origin.url('/empty200.bin'), { chunkSize: 1024 });
		expect(await drain(download.readable)).toMatchObject({ length: 0, pieces: 0 });
		expect(await download.info).toMatchObject({ mode: 'empty', size: 0 });
	});

	it('makes one request for an object no larger than a chunk', async () => {
		const object = origin.put('/small.bin', { size: 1000, seed: 10 });
		const download = new ParallelGetStream(origin.url('/small.bin'), { chunkSize: 1000 });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(await download.info).toMatchObject({ mode: 'single', size: 1000 });
		expect(log('/small.bin').map((request) => request.range)).toEqual(['bytes=0-999']);
	});

	it.each([
		['concurrency 1', { concurrency: 1 }, true, 3000],
		['a server that ignores Range', {}, false, 3000],
		['an empty object, 416 to discovery', {}, true, 0],
	])('a `size` the response contradicts (%s) fails before a byte is handed out, not ignored', async (_name, options, acceptRanges, size) => {
		origin.put('/wrong-size.bin', { size, seed: 22, acceptRanges });
		const download = new ParallelGetStream(origin.url('/wrong-size.bin'), { chunkSize: 1024, size: 4000, ...options });
		const reader = download.readable.getReader();
		const error = await rejection(reader.read());
		expect(error).toBeInstanceOf(native.UnexpectedResponseError);
		expect(error.code).toBe('ERR_UNEXPECTED_RESPONSE');
		expect(String(error.message)).toMatch(new RegExp(`has ${size} bytes, not the 4000 given as \`size\``));
		expect(download.stats.loaded).toBe(0);
		await expect(download.info).rejects.toBe(error);
	});

	it('makes one plain GET without Range for concurrency 1', async () => {
		const object = origin.put('/one.bin', { size: MiB, seed: 11 });
		const download = new ParallelGetStream(origin.url('/one.bin'), { chunkSize: 1024, concurrency: 1 });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(await download.info).toMatchObject({ mode: 'single', size: MiB });
		expect(log('/one.bin').map((request) => request.range)).toEqual([undefined]);
	});

	it('resumes a reset chunk from its first missing byte, keeping the pin', async () => {
		const object = origin.put('/reset.bin', { size: MiB, seed: 12 });
		origin.fault('/reset.bin', (request) => (request.range?.start === 512 * KiB && request.count <= 3 ? { resetAfterBytes: 100_000 } : undefined));
		const download = new ParallelGetStream(origin.url('/reset.bin'), { chunkSize: 256 * KiB, concurrency: 2, ...fast });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		const resumed = log('/reset.bin').filter((request) => request.range?.startsWith(`bytes=${512 * KiB + 100_000}-`));
		expect(resumed).toHaveLength(1);
		expect(resumed[0]!.ifMatch).toBe(object.etag);
		expect(download.stats).toMatchObject({ retries: 1, bytesReceived: MiB, loaded: MiB });
		origin.fault('/reset.bin', undefined);
	});

	it('a reset during the first response: resumed from its first missing byte, not ERR_INVALID_STATE on a locked body', async () => {
		const object = origin.put('/reset-first.bin', { size: MiB, seed: 21 });
		origin.fault('/reset-first.bin', (request) => (request.count === 1 ? { resetAfterBytes: 100_000 } : undefined));
		const download = new ParallelGetStream(origin.url('/reset-first.bin'), { chunkSize: 256 * KiB, concurrency: 2, ...fast });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		const ranges = log('/reset-first.bin').map((request) => request.range);
		expect(ranges[0]).toBe(`bytes=0-${256 * KiB - 1}`);
		expect(ranges.filter((range) => range === `bytes=100000-${256 * KiB - 1}`)).toHaveLength(1);
		expect(log('/reset-first.bin').find((request) => request.range === `bytes=100000-${256 * KiB - 1}`)!.ifMatch).toBe(object.etag);
		expect(download.stats).toMatchObject({ retries: 1, bytesReceived: MiB, loaded: MiB });
		origin.fault('/reset-first.bin', undefined);
	});

	// The second: discovery's answer comes after 250 ms, more than the 0.1 s of waiting that opens
	// the window for a head that stopped, and less than the consumer's share of waiting needs. The
	// wait for the first bytes says nothing of the consumer's pace.
	it.each([
		['a consumer slower than the network', 0],
		['a slow consumer behind a late first answer', 250],
	])('holds only `concurrency` chunks ahead of %s', async (_case, firstAnswerDelay) => {
		const chunkSize = 64 * KiB;
		const concurrency = 2;
		const path = `/slow-reader-${firstAnswerDelay}.bin`;
		const object = origin.put(path, { size: 24 * chunkSize, seed: 19 });
		origin.fault(path, (request) => (request.count === 1 && firstAnswerDelay > 0 ? { delayMs: firstAnswerDelay } : undefined));
		const download = new ParallelGetStream(origin.url(path), { chunkSize, concurrency });
		const reader = download.readable.getReader();
		const hash = createHash('sha256');
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			hash.update(value);
			// Far slower than 64 KiB chunks over loopback: the consumer hardly ever waits for bytes.
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
		origin.fault(path, undefined);
		expect(hash.digest('hex')).toBe(await object.sha256());
		expect(download.stats.maxBufferedBytes).toBeGreaterThan(0);
		expect(download.stats.maxBufferedBytes).toBeLessThanOrEqual(concurrency * chunkSize);
	});

	it('resumes a two-chunk request broken in its second chunk from its first missing byte', async () => {
		const chunkSize = 64 * KiB;
		const object = origin.put('/reset-run.bin', { size: 8 * chunkSize, seed: 17 });
		// The first answer takes 500 ms: the consumer, waiting for it all along, is the faster
		// side, so the whole window is open and request 2 covers chunks 1 and 2 (room for two per
		// free slot). Its connection breaks 5000 bytes into chunk 2.
		origin.fault('/reset-run.bin', (request) => {
			if (request.count === 1) return { delayMs: 500 };
			return request.count === 2 ? { resetAfterBytes: chunkSize + 5000 } : undefined;
		});
		const download = new ParallelGetStream(origin.url('/reset-run.bin'), { chunkSize, concurrency: 2, ...fast });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		const requests = log('/reset-run.bin');
		expect(requests[1]!.range).toBe(`bytes=${chunkSize}-${3 * chunkSize - 1}`);
		const resumed = requests.filter((request) => request.range === `bytes=${2 * chunkSize + 5000}-${3 * chunkSize - 1}`);
		expect(resumed).toHaveLength(1);
		expect(resumed[0]!.ifMatch).toBe(object.etag);
		expect(download.stats).toMatchObject({ retries: 1, bytesReceived: 8 * chunkSize, loaded: 8 * chunkSize });
		origin.fault('/reset-run.bin', undefined);
	});

	it.each([
		['setImmediate (Node, Deno, Bun)', []],
		['a MessageChannel (browsers)', ['setImmediate']],
		['setTimeout (neither of those)', ['setImmediate', 'MessageChannel']],
	] as const)('lets the event loop turn while the consumer reads a backlog of finished chunks, through %s', async (_way, hidden) => {
		// Every chunk is in before the first read; reading them all is then microtasks alone, and
		// without a pause now and then no socket or timer would run until the backlog is gone.
		// As many chunks as connections: all start at once, before the consumer reads a byte.
		const chunkSize = 512 * KiB;
		const size = 4 * chunkSize;
		const path = `/backlog-${hidden.length}.bin`;
		const object = origin.put(path, { size, seed: 18 });
		const download = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 4 });
		await vi.waitFor(() => expect(download.stats.bytesReceived).toBe(size));
		const reader = download.readable.getReader();
		let turned = false;
		const immediate = globalThis.setImmediate;
		immediate(() => {
			turned = true;
		});
		// The runtime without them, while the backlog is read: the pause takes the next way.
		for (const name of hidden) vi.stubGlobal(name, undefined);
		onTestFinished(() => void vi.unstubAllGlobals());
		let pieces = 0;
		let piecesBeforeTurn: number | undefined;
		const hash = createHash('sha256');
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			hash.update(value);
			pieces++;
			if (turned && piecesBeforeTurn === undefined) piecesBeforeTurn = pieces;
			// A consumer with work to do: 1 ms per piece.
			for (const until = performance.now() + 1; performance.now() < until; );
		}
		expect(hash.digest('hex')).toBe(await object.sha256());
		expect(piecesBeforeTurn).toBeDefined();
		expect(piecesBeforeTurn!).toBeLessThan(pieces);
	});

	it('hands out only what the consumer reads: no bytes queued in the stream beyond the window', async () => {
		// The stream's own queue holds nothing (highWaterMark 0): pull() enqueues while the stream
		// asks for more, one piece per read. Bytes enqueued are counted as loaded, so with every
		// chunk received and waiting, loaded must equal what the reader has taken, read after read.
		const chunkSize = 256 * KiB;
		const size = 2 * chunkSize;
		const object = origin.put('/one-read-one-piece.bin', { size, seed: 20 });
		const download = new ParallelGetStream(origin.url('/one-read-one-piece.bin'), { chunkSize, concurrency: 2 });
		await vi.waitFor(() => expect(download.stats.bytesReceived).toBe(size));
		const reader = download.readable.getReader();
		const hash = createHash('sha256');
		let read = 0;
		let reads = 0;
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			hash.update(value);
			read += value.byteLength;
			reads++;
			expect(download.stats.loaded, `after read ${reads}`).toBe(read);
		}
		expect(hash.digest('hex')).toBe(await object.sha256());
		// Pieces as the network delivered them: more than one per chunk, so the check above bit.
		expect(reads).toBeGreaterThan(2);
	});

	it('resumes a body that ends short', async () => {
		const object = origin.put('/short.bin', { size: MiB, seed: 13 });
		origin.fault('/short.bin', (request) => (request.range?.start === 256 * KiB && request.range.end === 512 * KiB - 1 ? { shortAfterBytes: 1000 } : undefined));
		const download = new ParallelGetStream(origin.url('/short.bin'), { chunkSize: 256 * KiB, concurrency: 2, ...fast });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(log('/short.bin').map((request) => request.range)).toContain(`bytes=${256 * KiB + 1000}-${512 * KiB - 1}`);
		origin.fault('/short.bin', undefined);
	});

	it('abandons a stalled request and resumes it', async () => {
		const object = origin.put('/stall.bin', { size: MiB, seed: 14 });
		origin.fault('/stall.bin', (request) => (request.count === 2 ? { stallAfterBytes: 5000 } : undefined));
		const download = new ParallelGetStream(origin.url('/stall.bin'), { chunkSize: 256 * KiB, concurrency: 2, stallTimeout: 200, ...fast });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(download.stats.retries).toBe(1);
		await origin.whenIdle();
		expect(origin.requestsTo('/stall.bin').filter((record) => record.aborted)).toHaveLength(1);
		origin.fault('/stall.bin', undefined);
	});

	it('retries 503 and 408, then succeeds', async () => {
		const object = origin.put('/busy.bin', { size: MiB, seed: 15 });
		origin.fault('/busy.bin', (request) => (request.count === 2 ? { status: 503, retryAfter: '0' } : request.count === 3 ? { status: 408 } : undefined));
		const download = new ParallelGetStream(origin.url('/busy.bin'), { chunkSize: 256 * KiB, concurrency: 1 + 1, ...fast });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(download.stats.retries).toBe(2);
		origin.fault('/busy.bin', undefined);
	});

	it('fails with RetriesExhaustedError (attempts, last cause) when a chunk keeps failing', async () => {
		origin.put('/down.bin', { size: MiB, seed: 16 });
		origin.fault('/down.bin', (request) => (request.count > 1 ? { status: 502 } : undefined));
		const download = new ParallelGetStream(origin.url('/down.bin'), { chunkSize: 256 * KiB, concurrency: 2, ...fast });
		const error = await rejection(drain(download.readable));
		expect(error).toBeInstanceOf(native.RetriesExhaustedError);
		expect(error).toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED', attempts: 4 });
		expect(error.cause).toMatchObject({ name: 'UnexpectedResponseError', status: 502, retryable: true });
		await origin.whenIdle();
		origin.fault('/down.bin', undefined);
	});

	it('fails on an over-long body and never hands out its extra bytes', async () => {
		const size = 512 * KiB;
		origin.put('/long.bin', { size, seed: 17 });
		origin.fault('/long.bin', (request) => (request.range?.start === 256 * KiB ? { extraBytes: 10 } : undefined));
		const download = new ParallelGetStream(origin.url('/long.bin'), { chunkSize: 256 * KiB, concurrency: 2, ...fast });
		const { error, delivered } = await readToError(download.readable);
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_BODY_TOO_LONG' });
		expect(delivered).toBeLessThanOrEqual(size);
		origin.fault('/long.bin', undefined);
	});

	it('fails with UnexpectedResponseError for a 404, through the stream and `info`', async () => {
		const download = new ParallelGetStream(origin.url('/missing.bin'), { ...fast });
		const error = await rejection(download.info);
		expect(error).toBeInstanceOf(native.UnexpectedResponseError);
		expect(error).toMatchObject({ code: 'ERR_UNEXPECTED_RESPONSE', status: 404, retryable: false });
		expect(native.isParallelGetError(error)).toBe(true);
		await expect(download.readable.getReader().read()).rejects.toBe(error);
		expect(origin.requestsTo('/missing.bin')).toHaveLength(1);
	});

	it('does not leave an unhandled rejection when nobody awaits `info`', async () => {
		const download = new ParallelGetStream(origin.url('/missing.bin'), { ...fast });
		await expect(drain(download.readable)).rejects.toMatchObject({ status: 404 });
	});

	it('stops every request and timer on cancel, and starts none afterwards', async () => {
		origin.put('/cancel.bin', { size: 8 * MiB, seed: 18 });
		origin.fault('/cancel.bin', () => ({ bytesPerSecond: 2 * MiB }));
		const download = new ParallelGetStream(origin.url('/cancel.bin'), { chunkSize: 256 * KiB, concurrency: 4 });
		const reader = download.readable.getReader();
		await reader.read();
		await reader.cancel(new Error('user went away'));
		await origin.whenIdle();
		const made = origin.requestsTo('/cancel.bin').length;
		await vi.waitFor(() => expect(download.stats.inFlight).toBe(0));
		await expect(download.info).resolves.toMatchObject({ mode: 'parallel' });
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(origin.requestsTo('/cancel.bin')).toHaveLength(made);
		expect(origin.inFlight).toBe(0);
		origin.fault('/cancel.bin', undefined);
	});

	it('aborts with the signal: the reader sees its reason and nothing stays in flight', async () => {
		origin.put('/abort.bin', { size: 8 * MiB, seed: 19 });
		origin.fault('/abort.bin', () => ({ bytesPerSecond: 2 * MiB }));
		const controller = new AbortController();
		const download = new ParallelGetStream(origin.url('/abort.bin'), { chunkSize: 256 * KiB, concurrency: 4, signal: controller.signal });
		const reader = download.readable.getReader();
		await reader.read();
		const reason = new Error('stop');
		controller.abort(reason);
		await expect(reader.read()).rejects.toBe(reason);
		await origin.whenIdle();
		await vi.waitFor(() => expect(download.stats.inFlight).toBe(0));
		const made = origin.requestsTo('/abort.bin').length;
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(origin.requestsTo('/abort.bin')).toHaveLength(made);
		origin.fault('/abort.bin', undefined);
	});

	it('errors at once for an already aborted signal, without a request', async () => {
		const reason = new Error('too late');
		const download = new ParallelGetStream(origin.url('/pinned.bin'), { signal: AbortSignal.abort(reason) });
		await expect(download.readable.getReader().read()).rejects.toBe(reason);
		await expect(download.info).rejects.toBe(reason);
		expect(origin.requestsTo('/pinned.bin')).toHaveLength(0);
	});

	it('sends the headers of a Request input and of `headers` with every request', async () => {
		origin.put('/auth.bin', { size: MiB, seed: 20 });
		const request = new Request(origin.url('/auth.bin'), { headers: { authorization: 'Bearer t' } });
		const download = new ParallelGetStream(request, { chunkSize: 256 * KiB, headers: { 'x-extra': '1' } });
		await drain(download.readable);
		const records = origin.requestsTo('/auth.bin');
		expect(records).toHaveLength(4);
		expect(records.every((record) => record.headers.authorization === 'Bearer t' && record.headers['x-extra'] === '1')).toBe(true);
	});

	it('makes every request through a given ky instance (its hooks apply)', async () => {
		origin.put('/ky.bin', { size: MiB, seed: 21 });
		let hooked = 0;
		const instance = ky.create({
			hooks: {
				beforeRequest: [
					({ request }) => {
						hooked++;
						request.headers.set('x-signed', 'yes');
					},
				],
			},
		});
		const download = new ParallelGetStream(origin.url('/ky.bin'), { chunkSize: 256 * KiB, ky: instance });
		await drain(download.readable);
		expect(hooked).toBe(4);
		expect(origin.requestsTo('/ky.bin').every((record) => record.headers['x-signed'] === 'yes')).toBe(true);
	});

	it('reports progress in order up to the size', async () => {
		origin.put('/progress.bin', { size: MiB + 1, seed: 22 });
		const seen: number[] = [];
		const download = new ParallelGetStream(origin.url('/progress.bin'), {
			chunkSize: 256 * KiB,
			onProgress: ({ loaded, total }) => {
				expect(total).toBe(MiB + 1);
				seen.push(loaded);
			},
		});
		await drain(download.readable);
		expect(seen.at(-1)).toBe(MiB + 1);
		expect(seen.every((value, index) => index === 0 || value > seen[index - 1]!)).toBe(true);
	});
});

describe('parallelGet', () => {
	it('resolves with a 200 Response carrying length, type, ETag and the bytes', async () => {
		const object = origin.put('/response.bin', { size: 2 * MiB + 3, seed: 23, contentType: 'application/x-tar' });
		const response = await native.parallelGet(origin.url('/response.bin'), { chunkSize: 256 * KiB });
		expect(response.status).toBe(200);
		expect(response.headers.get('content-length')).toBe(String(2 * MiB + 3));
		expect(response.headers.get('content-type')).toBe('application/x-tar');
		expect(response.headers.get('etag')).toBe(object.etag);
		expect((await drain(response.body!)).sha256).toBe(await object.sha256());
	});

	it('rejects when discovery fails', async () => {
		await expect(native.parallelGet(origin.url('/missing.bin'))).rejects.toMatchObject({ status: 404 });
	});
});

describe('onProgress', () => {
	it('fails the download with the error a callback throws', async () => {
		origin.put('/progress-throws.bin', { size: 256 * 1024, seed: 24 });
		const thrown = new Error('display broke');
		const download = new native.ParallelGetStream(origin.url('/progress-throws.bin'), {
			chunkSize: 64 * 1024,
			onProgress: () => {
				throw thrown;
			},
		});
		await expect(drain(download.readable)).rejects.toBe(thrown);
		await origin.whenIdle();
	});
});

describe('onProgress.inFlight', () => {
	it('is the number of requests in flight when the bytes are handed out', async () => {
		const size = 1024 * 1024;
		const object = origin.put('/progress-in-flight.bin', { size, seed: 25 });
		// The first response pauses after 1000 bytes: it is still in flight when they are handed out.
		origin.fault('/progress-in-flight.bin', (request) => (request.count === 1 ? { stallAfterBytes: 1000, stallMs: 200 } : undefined));
		const seen: { inFlight: number; stats: number }[] = [];
		const download: native.ParallelGetStream = new native.ParallelGetStream(origin.url('/progress-in-flight.bin'), {
			chunkSize: 256 * 1024,
			concurrency: 2,
			hedge: false,
			overlap: false,
			onProgress: ({ inFlight }) => seen.push({ inFlight, stats: download.stats.inFlight }),
		});
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		// The first response is in flight; the second slot's request may have started by then or
		// not (it starts right after the first bytes are handed out, or a turn after discovery).
		expect(seen[0]!.inFlight).toBeGreaterThanOrEqual(1);
		expect(seen.every(({ inFlight, stats }) => inFlight === stats && inFlight <= 2)).toBe(true);
		origin.fault('/progress-in-flight.bin', undefined);
	});
});
