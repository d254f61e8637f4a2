/**
 * The README's server-reply table, row by row, for discovery (the first request) and for a later
 * chunk, against the local origin; the retry rules (the count, the delays); and what stops with
 * the first error. Hedging and overlap are off so that every count is exact.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ParallelGetStream as Base, type ParallelGetOptions } from '../src/index.ts';
import { drain, readToError, rejection } from './support/collect.ts';
import { type FaultRequest } from './support/origin.ts';
import { useOrigin } from './support/use-origin.ts';

const KiB = 1024;
const chunkSize = 64 * KiB;
/** Two chunks: discovery reads chunk 0, one request reads chunk 1 (nothing else is in flight). */
const size = 2 * chunkSize;
const fast = { retry: { limit: 3, delay: () => 1, jitter: false } } as const;

class ParallelGetStream extends Base {
	constructor(input: string | URL | Request, options?: ParallelGetOptions) {
		super(input, { hedge: false, overlap: false, chunkSize, concurrency: 2, ...fast, ...options });
	}
}

const origin = useOrigin();
afterEach(() => {
	vi.restoreAllMocks();
});

let paths = 0;
/** A fresh two-chunk object under a path of its own. */
function object(spec: { etag?: string | null; acceptRanges?: boolean } = {}): { path: string; url: string; sha256: () => Promise<string> } {
	const path = `/reply-${++paths}.bin`;
	const put = origin.put(path, { size, seed: paths, ...spec });
	return { path, url: origin.url(path), sha256: () => put.sha256() };
}

/** Which chunk a request is for: 0 (discovery, and its resumes) or 1. */
function chunkOf(request: FaultRequest): number {
	return Math.floor((request.range?.start ?? 0) / chunkSize);
}

function ranges(path: string): (string | undefined)[] {
	return origin.requestsTo(path).map((record) => record.range);
}

const first = `bytes=0-${chunkSize - 1}`;
const second = `bytes=${chunkSize}-${size - 1}`;

describe('server replies to discovery (the first request)', () => {
	it.each([408, 425, 429, 500, 502, 503, 504])('%d: retried with a new request, then streamed', async (status) => {
		const { path, url, sha256 } = object();
		origin.fault(path, (request) => (request.count === 1 ? { status } : undefined));
		const download = new ParallelGetStream(url);
		expect((await drain(download.readable)).sha256).toBe(await sha256());
		expect(ranges(path)).toEqual([first, first, second]);
		expect(download.stats).toMatchObject({ retries: 1, requests: 3 });
	});

	it('a replica answering another range: not streamed as the head, retried', async () => {
		const { path, url, sha256 } = object();
		// The first request reaches a replica that serves bytes 1000-... instead, with a truthful
		// Content-Range for what it sent.
		let calls = 0;
		const replica: typeof fetch = (input, init) => {
			const request = new Request(input, init);
			if (++calls > 1) return fetch(request);
			const headers = new Headers(request.headers);
			headers.set('range', `bytes=1000-${chunkSize + 999}`);
			return fetch(request.url, { headers, signal: request.signal });
		};
		const download = new ParallelGetStream(url, { fetch: replica });
		expect((await drain(download.readable)).sha256).toBe(await sha256());
		expect(ranges(path)).toEqual([`bytes=1000-${chunkSize + 999}`, first, second]);
		expect(download.stats).toMatchObject({ retries: 1, requests: 3 });
	});

	it('a replica that keeps answering another range: RetriesExhaustedError naming it', async () => {
		const { path, url } = object();
		origin.fault(path, (request) => (chunkOf(request) === 0 ? { contentRange: `bytes 1-${chunkSize}/${size}` } : undefined));
		const download = new ParallelGetStream(url);
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 4 });
		expect(error.cause).toMatchObject({ name: 'UnexpectedResponseError', retryable: true, contentRange: `bytes 1-${chunkSize}/${size}` });
		expect(ranges(path)).toEqual([first, first, first, first]);
	});

	it('412: UnexpectedResponseError (nothing was pinned yet), not retried', async () => {
		const { path, url } = object();
		origin.fault(path, () => ({ status: 412 }));
		const download = new ParallelGetStream(url);
		const error = await rejection(download.info);
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_UNEXPECTED_RESPONSE', status: 412, retryable: false });
		await expect(drain(download.readable)).rejects.toBe(error);
		expect(ranges(path)).toEqual([first]);
	});

	it.each([['bytes */5'], [`bytes */${size}`]])('416 with %s: UnexpectedResponseError, not an empty stream', async (contentRange) => {
		const { path, url } = object();
		origin.fault(path, () => ({ status: 416, contentRange }));
		const download = new ParallelGetStream(url);
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_UNEXPECTED_RESPONSE', status: 416, contentRange });
		await expect(download.info).rejects.toBe(error);
		expect(ranges(path)).toEqual([first]);
	});

	it('a body longer than the range: ERR_BODY_TOO_LONG, the extra bytes never handed out', async () => {
		const { path, url } = object();
		origin.fault(path, (request) => (request.count === 1 ? { extraBytes: 10 } : undefined));
		const download = new ParallelGetStream(url);
		const { error, delivered } = await readToError(download.readable);
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_BODY_TOO_LONG', range: { start: 0, end: chunkSize - 1 } });
		expect(delivered).toBeLessThanOrEqual(chunkSize);
	});
});

describe('server replies to a later chunk', () => {
	it('a 200 (Range ignored): retried, and a replica that keeps ignoring it ends in RetriesExhaustedError', async () => {
		const { path, url, sha256 } = object();
		origin.fault(path, (request) => (request.count === 2 ? { ignoreRange: true } : undefined));
		const once = new ParallelGetStream(url);
		expect((await drain(once.readable)).sha256).toBe(await sha256());
		expect(ranges(path)).toEqual([first, second, second]);
		expect(once.stats.retries).toBe(1);

		origin.resetStats();
		origin.fault(path, (request) => (chunkOf(request) === 1 ? { ignoreRange: true } : undefined));
		const always = new ParallelGetStream(url);
		const error = await rejection(drain(always.readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 4, range: { start: chunkSize, end: size - 1 } });
		expect(error.cause).toMatchObject({ name: 'UnexpectedResponseError', status: 200, retryable: true });
		expect(ranges(path)).toEqual([first, second, second, second, second]);
	});

	it.each([['bytes */5'], [`bytes */${size}`]])('416 with %s: UnexpectedResponseError, not retried', async (contentRange) => {
		const { path, url } = object();
		origin.fault(path, (request) => (chunkOf(request) === 1 ? { status: 416, contentRange } : undefined));
		const error = await rejection(drain(new ParallelGetStream(url).readable));
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', status: 416, retryable: false, range: { start: chunkSize, end: size - 1 } });
		expect(ranges(path)).toEqual([first, second]);
	});

	it('another Last-Modified, when Last-Modified is what pins: RevisionChangedError', async () => {
		const { path, url } = object({ etag: null });
		const other = 'Tue, 02 Jan 2024 00:00:00 GMT';
		// A server that does not evaluate If-Unmodified-Since, serving another revision.
		origin.fault(path, (request) => (chunkOf(request) === 1 ? { lastModified: other, ignoreConditionals: true } : undefined));
		const download = new ParallelGetStream(url);
		const { lastModified } = await download.info;
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'RevisionChangedError', code: 'ERR_REVISION_CHANGED', expected: lastModified, received: other });
		expect(origin.requestsTo(path)[1]?.headers['if-unmodified-since']).toBe(lastModified);
	});

	it.each([
		['the first chunk (discovery)', 0],
		['the last chunk', 1],
	])('an over-long body whose extra bytes come after a pause, in %s: ERR_BODY_TOO_LONG, not a clean end', async (_case, chunk) => {
		// Regression: once a request had completed its run, the failure of its next read no longer
		// counted (as for a request a hedge made redundant), so extra bytes that came in a read of
		// their own were dropped and the download ended as if the server had sent what it said.
		const { path, url } = object();
		origin.fault(path, (request) => (chunkOf(request) === chunk ? { stallAfterBytes: chunkSize, stallMs: 300, extraBytes: 10 } : undefined));
		const { error, delivered } = await readToError(new ParallelGetStream(url).readable);
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_BODY_TOO_LONG', range: { start: chunk * chunkSize, end: (chunk + 1) * chunkSize - 1 } });
		expect(error.message).toMatch(new RegExp(`: the body is longer than the ${chunkSize} bytes asked for$`));
		expect(delivered).toBeLessThanOrEqual(size);
		// Not retried: the server is not sending what it said.
		expect(ranges(path)).toEqual([first, second]);
	});

	it('another ETag from a server that ignores If-Match: RevisionChangedError', async () => {
		const { path, url } = object();
		origin.fault(path, (request) => (chunkOf(request) === 1 ? { etag: '"other"', ignoreConditionals: true } : undefined));
		const download = new ParallelGetStream(url);
		const { etag } = await download.info;
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'RevisionChangedError', expected: etag, received: '"other"' });
	});
});

describe('single mode: a body that breaks off', () => {
	it.each([
		['with Content-Length', {}],
		['without Content-Length (chunked)', { contentLength: null }],
	] as const)('%s: ERR_BODY_TOO_SHORT, never a truncated end', async (_case, length) => {
		const { path, url } = object({ acceptRanges: false });
		origin.fault(path, () => ({ resetAfterBytes: 10_000, ...length }));
		const download = new ParallelGetStream(url);
		const { error, delivered } = await readToError(download.readable);
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_BODY_TOO_SHORT', status: 200 });
		expect(delivered).toBeLessThanOrEqual(10_000);
		expect(await download.info).toMatchObject({ mode: 'single' });
		expect(origin.requestsTo(path)).toHaveLength(1);
	});

	it('concurrency 1, a body that stalls: ERR_BODY_TOO_SHORT with the StallError as cause', async () => {
		const { path, url } = object();
		origin.fault(path, () => ({ stallAfterBytes: 10_000 }));
		const download = new ParallelGetStream(url, { concurrency: 1, stallTimeout: 100 });
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_BODY_TOO_SHORT' });
		expect(error.cause).toMatchObject({ name: 'StallError', code: 'ERR_STALLED', timeout: 100 });
		expect(ranges(path)).toEqual([undefined]);
	});
});

describe.each([
	['the first chunk', 0],
	['a later chunk', 1],
])('retries on %s', (_name, chunk) => {
	const range = { start: chunk * chunkSize, end: (chunk + 1) * chunkSize - 1 };

	it('the count restarts after an attempt that brought bytes', async () => {
		const { path, url, sha256 } = object();
		// Six resets in a row, each after a few more bytes: far more than `limit: 1`, and every
		// attempt made progress.
		let failures = 0;
		origin.fault(path, (request) => (chunkOf(request) === chunk && ++failures <= 6 ? { resetAfterBytes: 1000 } : undefined));
		const download = new ParallelGetStream(url, { retry: { limit: 1, delay: () => 1, jitter: false } });
		expect((await drain(download.readable)).sha256).toBe(await sha256());
		expect(download.stats.retries).toBe(6);
		const resumed = ranges(path).filter((value) => value?.endsWith(`-${range.end}`));
		expect(resumed).toEqual([0, 1, 2, 3, 4, 5, 6].map((n) => `bytes=${range.start + n * 1000}-${range.end}`));
	});

	it('and only then: attempts without bytes after it are counted on', async () => {
		const { path, url } = object();
		// One reset with bytes, then two 503s: the count starts again at the reset (1) and runs out
		// at the second 503 (3 > `limit: 2`), although the chunk would have come on the next try.
		let failures = 0;
		origin.fault(path, (request) => {
			if (chunkOf(request) !== chunk) return undefined;
			failures++;
			if (failures === 1) return { resetAfterBytes: 1000 };
			return failures <= 3 ? { status: 503 } : undefined;
		});
		const download = new ParallelGetStream(url, { retry: { limit: 2, delay: () => 1, jitter: false } });
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 3, range: { start: range.start + 1000, end: range.end } });
		expect(error.cause).toMatchObject({ status: 503 });
		expect(failures).toBe(3);
	});

	it('a stall: resumed, then RetriesExhaustedError with the StallError as cause', async () => {
		const { path, url } = object();
		origin.fault(path, (request) => (chunkOf(request) === chunk ? { stallAfterBytes: request.range!.start === range.start ? 1000 : 0 } : undefined));
		const download = new ParallelGetStream(url, { stallTimeout: 100, retry: { limit: 1, delay: () => 1, jitter: false } });
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', code: 'ERR_RETRIES_EXHAUSTED', attempts: 2, range: { start: range.start + 1000, end: range.end } });
		expect(error.cause).toMatchObject({ name: 'StallError', code: 'ERR_STALLED', timeout: 100 });
		expect(ranges(path).filter((value) => value?.endsWith(`-${range.end}`))).toEqual([`bytes=${range.start}-${range.end}`, `bytes=${range.start + 1000}-${range.end}`]);
	});

	it('a body slower than `stallTimeout` in all, but never quiet that long: no stall, no retry', async () => {
		const { path, url, sha256 } = object();
		// 64 KiB at 64 KiB/s: a second for the chunk, in pieces about 20 ms apart.
		origin.fault(path, (request) => (chunkOf(request) === chunk ? { bytesPerSecond: 64 * KiB } : undefined));
		const download = new ParallelGetStream(url, { stallTimeout: 400 });
		expect((await drain(download.readable)).sha256).toBe(await sha256());
		expect(download.stats.retries).toBe(0);
		expect(ranges(path)).toEqual([first, second]);
	});

	it('a 503 that keeps coming: exactly limit + 1 attempts', async () => {
		const { path, url } = object();
		origin.fault(path, (request) => (chunkOf(request) === chunk ? { status: 503 } : undefined));
		const download = new ParallelGetStream(url, { retry: { limit: 2, delay: () => 1, jitter: false } });
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 3, range });
		expect(ranges(path).filter((value) => value === `bytes=${range.start}-${range.end}`)).toHaveLength(3);
	});
});

describe('what stops every request at the origin', () => {
	/** Four chunks on four connections, each stalled for good after 1000 bytes: none can end by itself. */
	async function stalledEverywhere(options: ParallelGetOptions, fault?: (request: FaultRequest) => object | undefined) {
		const path = `/stalled-${++paths}.bin`;
		origin.put(path, { size: 4 * chunkSize, seed: paths });
		origin.fault(path, (request) => fault?.(request) ?? { stallAfterBytes: 1000 });
		const download = new ParallelGetStream(origin.url(path), { concurrency: 4, stallTimeout: false, ...options });
		return { path, download };
	}

	/** Each request was closed by the client before its body ended. */
	async function expectAborted(path: string, count: number): Promise<void> {
		await origin.whenIdle();
		const records = origin.requestsTo(path).filter((record) => record.status === 206);
		expect(records).toHaveLength(count);
		for (const record of records) {
			expect(record).toMatchObject({ aborted: true, bytesSent: 1000 });
			expect(record.endedAt).toBeTypeOf('number');
		}
	}

	it('cancel(): every request in flight is aborted', async () => {
		const { path, download } = await stalledEverywhere({});
		const reader = download.readable.getReader();
		await reader.read();
		await vi.waitFor(() => expect(origin.inFlight).toBe(4));
		await reader.cancel(new Error('user went away'));
		await expectAborted(path, 4);
		await vi.waitFor(() => expect(download.stats.inFlight).toBe(0));
	});

	it('the signal: every request in flight is aborted, the reader sees the reason', async () => {
		const controller = new AbortController();
		const { path, download } = await stalledEverywhere({ signal: controller.signal });
		const reader = download.readable.getReader();
		await reader.read();
		await vi.waitFor(() => expect(origin.inFlight).toBe(4));
		const reason = new Error('stop');
		controller.abort(reason);
		await expect(reader.read()).rejects.toBe(reason);
		await expectAborted(path, 4);
	});

	it.each([
		['a 404', { status: 404 }, 'UnexpectedResponseError'],
		['a 412', { status: 412 }, 'RevisionChangedError'],
	])('the first error (%s to the last chunk) aborts every other request', async (_case, verdict, name) => {
		// The last chunk's answer waits until the other three are in flight, stalled.
		const { path, download } = await stalledEverywhere({}, (request) =>
			request.range?.start === 3 * chunkSize ? { ...verdict, delayMs: 200 } : undefined,
		);
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name, status: verdict.status, range: { start: 3 * chunkSize, end: 4 * chunkSize - 1 } });
		await expectAborted(path, 3);
	});
});

describe('retry delays', () => {
	/** Discovery answered 503 `failures` times, then the object; resolves with the delays waited between attempts. */
	async function download(options: ParallelGetOptions, failures: number, retryAfter?: string): Promise<number[]> {
		const { path, url, sha256 } = object();
		origin.fault(path, (request) => (request.count <= failures ? { status: 503, ...(retryAfter ? { retryAfter } : {}) } : undefined));
		// The timers the library's delay() sets (others come from the HTTP client and the origin).
		const waited: number[] = [];
		const setTimeout = globalThis.setTimeout;
		vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
			if (new Error().stack?.includes('abort.ts')) waited.push(ms ?? 0);
			return setTimeout(callback, ms);
		}) as typeof globalThis.setTimeout);
		const stream = new ParallelGetStream(url, { stallTimeout: false, ...options });
		const out = await drain(stream.readable);
		vi.mocked(globalThis.setTimeout).mockRestore();
		expect(out.sha256).toBe(await sha256());
		expect(stream.stats.retries).toBe(failures);
		return waited;
	}

	it('250 * 2 ** (attempt - 1) ms by default', async () => {
		expect(await download({ retry: { jitter: false } }, 2)).toEqual([250, 500]);
	});

	it('the computed delay capped at backoffLimit', async () => {
		expect(await download({ retry: { jitter: false, delay: (attempt) => 3000 * attempt, backoffLimit: 7 } }, 2)).toEqual([7, 7]);
	});

	it('jitter: each delay drawn from 50 to 100 % of its value', async () => {
		vi.spyOn(Math, 'random').mockReturnValue(0);
		expect(await download({ retry: { delay: (attempt) => 20 * attempt } }, 2)).toEqual([10, 20]);
		vi.spyOn(Math, 'random').mockReturnValue(0.5);
		expect(await download({ retry: { delay: (attempt) => 20 * attempt } }, 2)).toEqual([15, 30]);
	});

	it('Retry-After as given, in place of the computed delay, up to maxRetryAfter', async () => {
		expect(await download({ retry: { jitter: false, delay: () => 3000 } }, 1, '1')).toEqual([1000]);
		expect(await download({ retry: { jitter: true, delay: () => 3000, maxRetryAfter: 9 } }, 1, '120')).toEqual([9]);
	});

	it('a number is the limit', async () => {
		const { path, url } = object();
		origin.fault(path, () => ({ status: 503, retryAfter: '0' }));
		const error = await rejection(drain(new ParallelGetStream(url, { retry: 2 }).readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 3 });
		expect(ranges(path)).toEqual([first, first, first]);
	});
});

