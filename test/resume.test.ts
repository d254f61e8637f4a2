/**
 * Resume later (issue 15): `download.checkpoint()` and the `resume` option against the real test
 * origin. What a first run handed out and what the resumed run yields must be the object's bytes
 * exactly (by hash); a changed object must fail before the resumed run hands out a byte; and the
 * resumed run's requests start at the checkpoint, pinned from the first one.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as native from '../src/index.ts';
import * as ponyfill from '../src/ponyfill.ts';
import { drain, readSome, rejection } from './support/collect.ts';
import { objectSlice } from './support/object.ts';
import { type OriginObjectSpec, type RequestRecord } from './support/origin.ts';
import { useOrigin } from './support/use-origin.ts';

const KiB = 1024;
const fast = { retry: { limit: 3, delay: () => 1, jitter: false }, hedge: false, overlap: false } as const;

const origin = useOrigin();

function sha256(...parts: Uint8Array[]): string {
	const hash = createHash('sha256');
	for (const part of parts) hash.update(part);
	return hash.digest('hex');
}


async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
	const pieces: Uint8Array[] = [];
	for await (const piece of readable as unknown as AsyncIterable<Uint8Array>) pieces.push(piece);
	return Buffer.concat(pieces);
}

/** The requests of one run: each run asks with a query of its own, so a late request of an earlier run is told apart. */
function runRequests(target: string): RequestRecord[] {
	const { pathname, search } = new URL(target);
	return origin.requestsTo(pathname).filter((record) => record.url === `${pathname}${search}`);
}

/** The resumed requests tile [offset, size) exactly, in whole chunks counted from the offset. */
function expectTiles(target: string, offset: number, size: number, chunkSize: number): void {
	const spans = runRequests(target).map(({ range }) => {
		const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
		expect(match, `a closed byte range, got ${range}`).not.toBeNull();
		return { start: Number(match![1]), end: Number(match![2]) };
	});
	spans.sort((a, b) => a.start - b.start);
	let next = offset;
	for (const { start, end } of spans) {
		expect(start, 'ranges neither overlap nor leave a gap').toBe(next);
		expect((start - offset) % chunkSize, 'a request starts on a chunk boundary counted from the offset').toBe(0);
		next = end + 1;
	}
	expect(next).toBe(size);
}

describe.each([
	['native ReadableStream', native.ParallelGetStream],
	['web-streams-polyfill', ponyfill.ParallelGetStream],
])('resume with %s', (_name, ParallelGetStream) => {
	const size = 20 * 64 * KiB + 123;
	const chunkSize = 64 * KiB;

	it('checkpoint() is undefined before the first response and says what was handed out after it, as JSON', async () => {
		const path = '/cp-first.bin';
		const object = origin.put(path, { size, seed: 11 });
		const download = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 4, ...fast });
		expect(download.checkpoint()).toBeUndefined();
		const head = await readSome(download.readable, 3 * chunkSize + 5);
		const checkpoint = download.checkpoint();
		expect(checkpoint).toEqual({ url: origin.url(path), offset: head.byteLength, size, etag: object.etag });
		expect(JSON.parse(JSON.stringify(checkpoint))).toEqual(checkpoint);
		expect(download.stats.loaded).toBe(head.byteLength);
	});

	it('a download cut short and resumed from its checkpoint gives the object by hash, its requests starting at the checkpoint, pinned', async () => {
		const path = '/cp-cut.bin';
		const object = origin.put(path, { size, seed: 12 });
		const first = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 4, ...fast });
		const head = await readSome(first.readable, 7 * chunkSize + 1000);
		const checkpoint = JSON.parse(JSON.stringify(first.checkpoint()));

		const progress: native.Progress[] = [];
		// Another URL for the same object (a renewed signed URL, say): the checkpoint's pin decides.
		const again = `${origin.url(path)}?run=2`;
		const resumed = new ParallelGetStream(again, { chunkSize, concurrency: 4, resume: checkpoint, onProgress: (report) => void progress.push(report), ...fast });
		const tail = await readAll(resumed.readable);
		expect(head.byteLength + tail.byteLength).toBe(size);
		expect(sha256(head, tail)).toBe(await object.sha256());
		const requests = runRequests(again);
		expect(requests.every((record) => record.headers['if-match'] === object.etag)).toBe(true);
		expectTiles(again, checkpoint.offset, size, chunkSize);
		// `loaded` goes on from the checkpoint: a progress bar of the whole object needs no sum.
		expect(resumed.stats.loaded).toBe(size);
		expect(progress[0]!.loaded).toBeGreaterThan(checkpoint.offset);
		expect(progress.at(-1)).toMatchObject({ loaded: size, total: size });
		expect(await resumed.info).toMatchObject({ size, etag: object.etag, mode: 'parallel', resumedFrom: checkpoint.offset });
		expect(resumed.checkpoint()).toEqual({ ...checkpoint, url: again, offset: size });
	});

	it.each([
		['at 0', 0],
		['mid-chunk', 5 * chunkSize + 777],
		['on a chunk boundary', 5 * chunkSize],
		['one byte before the end', size - 1],
	])('resumes %s: the bytes from there to the end, every request pinned and within [offset, size)', async (_case, offset) => {
		const path = `/cp-at-${offset}.bin`;
		const object = origin.put(path, { size, seed: 13 });
		const resume = { url: origin.url(path), offset, size, etag: object.etag! };
		const resumed = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 3, resume, ...fast });
		const tail = await readAll(resumed.readable);
		expect(sha256(tail)).toBe(sha256(objectSlice(size, 13, offset, size)));
		expect(origin.requestsTo(path).every((record) => record.headers['if-match'] === object.etag)).toBe(true);
		expectTiles(origin.url(path), offset, size, chunkSize);
		expect(Math.min(...origin.requestsTo(path).map((record) => Number(/^bytes=(\d+)/.exec(record.range ?? '')![1])))).toBe(offset);
	});

	it('a checkpoint at the end yields an empty stream and sends no request', async () => {
		const path = '/cp-end.bin';
		const object = origin.put(path, { size, seed: 14 });
		const resumed = new ParallelGetStream(origin.url(path), { chunkSize, resume: { url: origin.url(path), offset: size, size, etag: object.etag! } });
		expect(await drain(resumed.readable)).toMatchObject({ length: 0 });
		expect(await resumed.info).toEqual({ size, etag: object.etag, mode: 'parallel', resumedFrom: size });
		expect(origin.requestsTo(path)).toHaveLength(0);
		expect(resumed.stats).toMatchObject({ requests: 0, loaded: size });
	});

	it('pinned by Last-Modified where there is no ETag: If-Unmodified-Since from the first request', async () => {
		const path = '/cp-lm.bin';
		const object = origin.put(path, { size, seed: 15, etag: null });
		const first = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 2, ...fast });
		const head = await readSome(first.readable, 2 * chunkSize + 3);
		const checkpoint = first.checkpoint()!;
		expect(checkpoint).toEqual({ url: origin.url(path), offset: head.byteLength, size, lastModified: object.lastModified });
		await origin.whenIdle();
		origin.resetStats();
		const resumed = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 2, resume: checkpoint, ...fast });
		const tail = await readAll(resumed.readable);
		expect(sha256(head, tail)).toBe(await object.sha256());
		expect(origin.requestsTo(path).every((record) => record.headers['if-unmodified-since'] === object.lastModified && record.headers['if-match'] === undefined)).toBe(true);
	});

	it.each([
		['a new ETag (412 to If-Match)', { size, seed: 17 } as OriginObjectSpec, undefined],
		['the same bytes under a new ETag from a server that ignores If-Match', { size, seed: 16 } as OriginObjectSpec, { ignoreConditionals: true }],
		['another total under the same ETag', { size: size + 1, seed: 16, etag: 'same' } as OriginObjectSpec, undefined],
	])('a changed object (%s) fails with RevisionChangedError before a byte is handed out', async (_case, replacement, fault) => {
		const path = `/cp-changed-${_case.length}.bin`;
		origin.put(path, { size, seed: 16, ...(replacement.etag ? { etag: 'same' } : {}) });
		const first = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 2, ...fast });
		await readSome(first.readable, 4 * chunkSize);
		const checkpoint = first.checkpoint()!;
		await origin.whenIdle();
		origin.put(path, replacement);
		if (fault) origin.fault(path, () => fault);
		origin.resetStats();
		const resumed = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 4, resume: checkpoint, ...fast });
		const reader = resumed.readable.getReader();
		const error = await rejection(reader.read());
		expect(native.isRevisionChangedError(error)).toBe(true);
		expect(error.code).toBe('ERR_REVISION_CHANGED');
		expect(await rejection(resumed.info)).toBe(error);
		expect(resumed.stats.loaded).toBe(checkpoint.offset);
		expect(resumed.stats.bytesReceived).toBe(0);
		origin.fault(path, undefined);
		await origin.whenIdle();
	});

	it('a changed object pinned by Last-Modified fails with RevisionChangedError (412 to If-Unmodified-Since)', async () => {
		const path = '/cp-changed-lm.bin';
		origin.put(path, { size, seed: 18, etag: null });
		const first = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 2, ...fast });
		await readSome(first.readable, 3 * chunkSize);
		const checkpoint = first.checkpoint()!;
		expect(checkpoint.lastModified).toBeDefined();
		await origin.whenIdle();
		origin.put(path, { size, seed: 18, etag: null });
		origin.resetStats();
		const resumed = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: 3, resume: checkpoint, ...fast });
		const error = await rejection(resumed.readable.getReader().read());
		expect(native.isRevisionChangedError(error)).toBe(true);
		expect(origin.requestsTo(path).every((record) => record.status === 412)).toBe(true);
		expect(resumed.stats.bytesReceived).toBe(0);
		await origin.whenIdle();
	});

	it('sends every slot\'s first range at once: the size and the pin are known, there is nothing to discover', async () => {
		const path = '/cp-round.bin';
		const object = origin.put(path, { size, seed: 19 });
		const concurrency = 4;
		// Holds every answer until `concurrency` requests were sent (or 5 s passed): a resumed
		// download that waited for one answer before sending the others would show it in `sent`.
		let sent = 0;
		let open!: () => void;
		const gate = new Promise<void>((resolve) => {
			open = resolve;
		});
		const timeout = setTimeout(() => open(), 5000);
		const sentBeforeAnswer: number[] = [];
		const gated: typeof fetch = async (input, init) => {
			sent++;
			if (sent === concurrency) open();
			await gate;
			sentBeforeAnswer.push(sent);
			return fetch(input, init);
		};
		const resume = { url: origin.url(path), offset: 1000, size, etag: object.etag! };
		const resumed = new ParallelGetStream(origin.url(path), { chunkSize, concurrency, resume, fetch: gated, ...fast });
		const tail = await readAll(resumed.readable);
		clearTimeout(timeout);
		expect(sha256(tail)).toBe(sha256(objectSlice(size, 19, 1000, size)));
		expect(sentBeforeAnswer.slice(0, concurrency)).toEqual([concurrency, concurrency, concurrency, concurrency]);
		expect(origin.requestsTo(path).slice(0, concurrency).every((record) => record.headers['if-match'] === object.etag)).toBe(true);
	});

	it('a resumed download\'s own checkpoint resumes again, with concurrency 1 too', async () => {
		const path = '/cp-chain.bin';
		const object = origin.put(path, { size, seed: 20 });
		const parts: Uint8Array[] = [];
		let checkpoint: native.Checkpoint | undefined = { url: origin.url(path), offset: 0, size, etag: object.etag! };
		for (const [concurrency, bytes] of [
			[1, 3 * chunkSize],
			[3, 5 * chunkSize + 17],
			[2, size],
		] as const) {
			const download: native.ParallelGetStream = new ParallelGetStream(origin.url(path), { chunkSize, concurrency, resume: checkpoint, ...fast });
			parts.push(await readSome(download.readable, bytes));
			checkpoint = download.checkpoint();
			expect(checkpoint?.offset).toBe(parts.reduce((sum, part) => sum + part.byteLength, 0));
			await origin.whenIdle();
		}
		expect(sha256(...parts)).toBe(await object.sha256());
	});
});

describe('parallelGet() resumed', () => {
	it('answers with the rest of the object, its Content-Length what the body holds', async () => {
		const size = 300 * KiB + 9;
		const object = origin.put('/cp-response.bin', { size, seed: 24 });
		const response = await native.parallelGet(origin.url('/cp-response.bin'), { chunkSize: 64 * KiB, resume: { url: origin.url('/cp-response.bin'), offset: 100_000, size, etag: object.etag! } });
		expect(response.headers.get('content-length')).toBe(String(size - 100_000));
		const body = new Uint8Array(await response.arrayBuffer());
		expect(sha256(body)).toBe(sha256(objectSlice(size, 24, 100_000, size)));
	});
});

describe('checkpoint()', () => {
	it('is given for an object within one chunk, and not for one without a strong validator', async () => {
		const small = origin.put('/cp-small.bin', { size: 1000, seed: 21 });
		const download = new native.ParallelGetStream(origin.url('/cp-small.bin'), { chunkSize: 64 * KiB });
		await drain(download.readable);
		expect(download.checkpoint()).toEqual({ url: origin.url('/cp-small.bin'), offset: 1000, size: 1000, etag: small.etag });

		origin.put('/cp-none.bin', { size: 200 * KiB, seed: 22, etag: null, lastModified: null });
		const unpinned = new native.ParallelGetStream(origin.url('/cp-none.bin'), { chunkSize: 64 * KiB });
		await drain(unpinned.readable);
		expect((await unpinned.info).mode).toBe('single');
		expect(unpinned.checkpoint()).toBeUndefined();
	});

	it('is not given for a 200 from a server that does not accept ranges', async () => {
		origin.put('/cp-norange.bin', { size: 200 * KiB, seed: 23, acceptRanges: false });
		const download = new native.ParallelGetStream(origin.url('/cp-norange.bin'), { chunkSize: 64 * KiB });
		await drain(download.readable);
		expect(download.checkpoint()).toBeUndefined();
	});
});

describe('resume: bad checkpoints throw at construction, before any request', () => {
	const url = 'http://127.0.0.1:9/never.bin';
	it.each([
		['not an object', 'offset=3', TypeError, /`resume` to be a checkpoint/],
		['null', null, TypeError, /`resume` to be a checkpoint/],
		['no offset', { url, size: 10, etag: '"a"' }, TypeError, /`resume.offset`/],
		['a fractional offset', { url, offset: 1.5, size: 10, etag: '"a"' }, TypeError, /`resume.offset`/],
		['a negative offset', { url, offset: -1, size: 10, etag: '"a"' }, RangeError, /`resume.offset`/],
		['an offset beyond the size', { url, offset: 11, size: 10, etag: '"a"' }, RangeError, /at most `resume.size` \(10\)/],
		['a size as a string', { url, offset: 1, size: '10', etag: '"a"' }, TypeError, /`resume.size`/],
		['no validator', { url, offset: 1, size: 10 }, TypeError, /validator/],
		['a weak ETag', { url, offset: 1, size: 10, etag: 'W/"a"' }, TypeError, /strong ETag/],
		['an unquoted ETag', { url, offset: 1, size: 10, etag: 'a' }, TypeError, /strong ETag/],
		['a Last-Modified that is no date', { url, offset: 1, size: 10, lastModified: 'yesterday' }, TypeError, /HTTP date/],
		['a url that is no string', { url: 7, offset: 1, size: 10, etag: '"a"' }, TypeError, /`resume.url`/],
	])('%s', (_case, resume, Type, message) => {
		const sent: unknown[] = [];
		const spy: typeof fetch = async (input) => {
			sent.push(input);
			throw new Error('no request expected');
		};
		expect(() => new native.ParallelGetStream(url, { resume: resume as never, fetch: spy })).toThrow(Type);
		expect(() => new native.ParallelGetStream(url, { resume: resume as never, fetch: spy })).toThrow(message);
		expect(sent).toEqual([]);
	});

	it('a `size` that contradicts the checkpoint', () => {
		expect(() => new native.ParallelGetStream(url, { size: 11, resume: { url, offset: 1, size: 10, etag: '"a"' } })).toThrow(RangeError);
	});
});
