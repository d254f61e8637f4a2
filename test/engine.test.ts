/**
 * The engine's own wiring (engine.ts), against the test origin: what starts requests when, what a
 * failed discovery answer leaves behind, and what ending the download stops. Counted at the
 * origin and in `stats`, never timed.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { AdaptiveConcurrency } from '../src/core/adaptive.ts';
import { Engine } from '../src/core/engine.ts';
import { normalizeOptions } from '../src/core/options.ts';
import { ConcurrencyPolicy } from '../src/core/policies/concurrency.ts';
import { PullSource } from '../src/core/pull-source.ts';
import { Stragglers } from '../src/core/stragglers.ts';
import { type Checkpoint, type ParallelGetOptions, ParallelGetStream } from '../src/index.ts';
import { prefixHash } from '../src/integrity/prefix-hash.ts';
import { drain, readSome, rejection } from './support/collect.ts';
import { base64, digestOf } from './support/digests.ts';
import { trackTimers } from './support/timers.ts';
import { useOrigin } from './support/use-origin.ts';

const KiB = 1024;
const chunkSize = 64 * KiB;
const fast = { chunkSize, retry: { limit: 3, delay: () => 1, jitter: false }, hedge: false, overlap: false } as const;

const origin = useOrigin();

describe('discovery', () => {
	it('the other chunks start after discovery even when nobody reads and its own request stays open', async () => {
		const path = '/unread.bin';
		origin.put(path, { size: 6 * chunkSize, seed: 11 });
		// Discovery's answer stops 1000 bytes in: its request never ends and hands out no more.
		origin.fault(path, ({ count }) => (count === 1 ? { stallAfterBytes: 1000 } : undefined));
		const download = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 3, stallTimeout: false });
		await download.info;
		// No read: the stream never pulls, so only the engine's own turn after discovery starts them.
		await vi.waitFor(() => expect(origin.requestsTo(path).length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 20 });
		await download.readable.cancel('enough');
		origin.fault(path, undefined);
		await origin.whenIdle();
	});

	it('an answer discovery refuses is cancelled at once, not left holding its connection until the end', async () => {
		const path = '/refused-discovery.bin';
		const size = 32 * 1024 * KiB;
		origin.put(path, { size, seed: 12 });
		// The first answer is for another range than asked (retried), with a body far larger than the socket's buffers.
		origin.fault(path, ({ count, range }) => (count === 1 && range ? { contentRange: `bytes 1-${range.end + 1}/${size}` } : undefined));
		// Every response is kept here, so that none is cancelled by being collected (undici cancels a collected body).
		const kept: Response[] = [];
		const fetch: typeof globalThis.fetch = async (input, init) => {
			const response = await globalThis.fetch(input, init);
			kept.push(response);
			return response;
		};
		const download = new ParallelGetStream(origin.url(path), { ...fast, fetch, chunkSize: size / 4, concurrency: 2 });
		const reader = download.readable.getReader();
		expect((await reader.read()).done).toBe(false);
		// The download is still open (nobody read on): only discovery's own `discard` can have ended it.
		await vi.waitFor(() => expect(origin.requestsTo(path)[0]).toMatchObject({ status: 206, aborted: true }), { timeout: 10_000, interval: 20 });
		expect(origin.requestsTo(path)[0]!.bytesSent).toBeLessThan(size / 4);
		await reader.cancel('enough');
		await origin.whenIdle();
		expect(kept.length).toBeGreaterThan(1);
	});

	it.each([
		['same-origin (Node fetch)', false],
		["cross-origin (a response of type 'cors')", true],
	])('%s: retries exhausted on network errors say where to look only cross-origin', async (_case, cors) => {
		const path = `/dropped-${cors}.bin`;
		origin.put(path, { size: 4 * chunkSize, seed: 26 });
		// Chunk 2's connection is dropped every time, before any answer.
		origin.fault(path, ({ range }) => (range?.start === 2 * chunkSize ? { dropConnection: true } : undefined));
		const fetch: typeof globalThis.fetch = async (input, init) => {
			const response = await globalThis.fetch(input, init);
			if (cors) Object.defineProperty(response, 'type', { value: 'cors' });
			return response;
		};
		const download = new ParallelGetStream(origin.url(path), { ...fast, fetch, concurrency: 2, retry: { limit: 1, delay: () => 1 } });
		const error = await rejection(drain(download.readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 2 });
		expect(error.message.includes('cross-origin: check that the server allows If-Match and If-Unmodified-Since')).toBe(cors);
		origin.fault(path, undefined);
		await origin.whenIdle();
	});

	it('before discovery answers, a waiting read whose window the budget binds starts nothing: no hedge of an unpinned request', async () => {
		const path = '/unpinned-recheck.bin';
		const object = origin.put(path, { size: 8 * chunkSize, seed: 30 });
		// Discovery's answer (the one for byte 0) waits until a request it did not expect arrives, or
		// two seconds: past the read's recheck (0.5 s) and the hedge delay many times over.
		let release!: () => void;
		const released = new Promise<void>((resolve) => {
			release = resolve;
			setTimeout(resolve, 2000);
		});
		let before = 0;
		let answered = false;
		void released.then(() => void (answered = true));
		origin.fault(path, ({ headers }) => {
			if (!answered) before++;
			if (before > 2) release();
			return headers.range?.startsWith('bytes=0-') ? { until: released } : undefined;
		});
		// The budget (two chunks) binds the first round: discovery and one more request, two slots left free.
		const download = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 4, maxBuffer: 2 * chunkSize, size: object.size, hedge: { after: 20 } });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(before).toBeLessThanOrEqual(2);
		origin.fault(path, undefined);
	});

	it('a first round that discovery does not keep (the server ignores Range) is let go at once, not when the download ends', async () => {
		const path = '/round-let-go.bin';
		const size = 32 * 1024 * KiB;
		origin.put(path, { size, seed: 22, acceptRanges: false });
		// Discovery's answer waits until the first round has arrived: then every answer is a 200 of the whole object.
		let release!: () => void;
		const arrived = new Promise<void>((resolve) => {
			release = resolve;
		});
		origin.fault(path, ({ count, headers }) => {
			if (count === 4) release();
			// Discovery's is the one for byte 0 (the sockets decide which arrives first).
			return headers.range?.startsWith('bytes=0-') ? { until: arrived } : undefined;
		});
		// Every response is kept, so that none is cancelled by being collected.
		const kept: Response[] = [];
		const fetch: typeof globalThis.fetch = async (input, init) => {
			const response = await globalThis.fetch(input, init);
			kept.push(response);
			return response;
		};
		const download = new ParallelGetStream(origin.url(path), { ...fast, fetch, chunkSize: size / 8, concurrency: 4, size });
		const reader = download.readable.getReader();
		expect((await reader.read()).done).toBe(false);
		expect((await download.info).mode).toBe('single');
		// Nobody reads on, so the download stays open: the first round's requests (all but one) end all the same.
		await vi.waitFor(() => expect(origin.requestsTo(path).filter((record) => record.endedAt === undefined)).toHaveLength(1), { timeout: 10_000, interval: 20 });
		expect(origin.requestsTo(path).length).toBeGreaterThan(1);
		await reader.cancel('enough');
		origin.fault(path, undefined);
		await origin.whenIdle();
	});
});

describe('schedule(), what it tells the policies', () => {
	/**
	 * An engine laid out for 8 chunks of a pinned revision, no request sent (`send` is never
	 * called): the window (4 chunks while the consumer sets the pace) is full, chunks 4 to 7 are
	 * not started yet; `running` slots of 4 are busy.
	 */
	function laidOut(running: number, networkBound: boolean, nextStart = 4, hedge = false, { concurrency = 4, totalChunks = 8 }: { concurrency?: ParallelGetOptions['concurrency']; totalChunks?: number } = {}): Engine {
		const send = (): never => {
			throw new Error('no request is sent');
		};
		const engine = new Engine('http://127.0.0.1:9/object.bin', normalizeOptions({ chunkSize, concurrency, hedge: hedge && { after: 50 }, overlap: false }), send, []);
		engine.plan.size = totalChunks * chunkSize;
		engine.plan.totalChunks = totalChunks;
		engine.plan.nextStart = nextStart;
		engine.facts = { pin: { kind: 'etag', etag: '"x"', lastModified: undefined }, totalFromCaller: false, crossOrigin: false };
		for (let i = 0; i < running; i++) engine.slots.take('slot');
		vi.spyOn(PullSource.prototype, 'networkBound').mockReturnValue(networkBound);
		onTestFinished(() => void vi.restoreAllMocks());
		return engine;
	}

	it.each([
		['a slot the window holds back while the consumer sets the pace is held back', 3, false, 1],
		['every slot busy: none is held back', 4, false, 0],
		['a free slot while the network sets the pace is not held back by the consumer', 3, true, 0],
	])('%s', (_case, running, networkBound, calls) => {
		const heldBack = vi.spyOn(AdaptiveConcurrency.prototype, 'heldBack');
		laidOut(running, networkBound, networkBound ? 8 : 4).schedule();
		expect(heldBack).toHaveBeenCalledTimes(calls);
	});

	// `concurrency: 'auto'` samples what the link carries only while it sets the pace. 'auto' at 4
	// connections, 3 reading, the window (8 chunks while the consumer waits) full, chunks 8 to 15
	// not started: one slot free, which is the link's doing when the consumer waits for bytes.
	it.each([
		['a free slot while the consumer waits for bytes: the sample is the link\'s pace (saturated)', true, true],
		['a free slot while the consumer sets the pace: the sample says nothing about the link', false, false],
	])('%s', (_case, networkBound, saturated) => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		onTestFinished(() => void vi.useRealTimers());
		const sample = vi.spyOn(ConcurrencyPolicy.prototype, 'sample');
		const engine = laidOut(3, networkBound, 8, false, { concurrency: { min: 4, max: 8 }, totalChunks: 16 });
		engine.schedule();
		vi.advanceTimersByTime(1000);
		expect(sample).toHaveBeenCalled();
		expect(sample.mock.calls.map(([taken]) => taken.saturated)).toEqual(sample.mock.calls.map(() => saturated));
		engine.fail(new Error('done'));
	});

	// What a run ending after the end (its retry sees the end, see `retrying`) calls: no request could
	// go out (`Requests.open` refuses), but the plan the end cleared must stay empty.
	it('after the end, schedule() lays out no chunk again, sends nothing and steals no tail', async () => {
		const engine = laidOut(0, false, 6, true);
		engine.plan.nextEmit = 4;
		engine.counters.bytesReceived = 4 * chunkSize;
		engine.cancel('enough');
		engine.schedule();
		expect(engine.plan.chunks.size).toBe(0);
		expect(engine.slots.running).toBe(0);
		await new Promise((resolve) => setImmediate(resolve));
		expect(engine.stats).toMatchObject({ requests: 0, steals: 0 });
		expect(engine.plan.chunks.size).toBe(0);
	});

	it.each([
		['not while chunks are still to start (the window holds them back)', 4, 0],
		['once every chunk has started', 8, 1],
	])('tails are stolen %s', (_case, nextStart, calls) => {
		const stealTails = vi.spyOn(Stragglers.prototype, 'stealTails').mockImplementation(() => undefined);
		laidOut(3, false, nextStart).schedule();
		expect(stealTails).toHaveBeenCalledTimes(calls);
	});
});

describe("'auto'", () => {
	it('two resets among many answers are not taken for pushback: every answer that passes its checks counts', async () => {
		const path = '/auto-two-resets.bin';
		const object = origin.put(path, { size: 24 * chunkSize, seed: 29 });
		// The 10th and 11th requests break off 1000 bytes in (retried): at least six answers passed before them.
		const broken = new Set<number>();
		origin.fault(path, ({ count }) => {
			if (count !== 10 && count !== 11) return undefined;
			broken.add(count);
			return { resetAfterBytes: 1000 };
		});
		const download = new ParallelGetStream(origin.url(path), { ...fast, concurrency: { min: 1, max: 4 } });
		expect((await drain(download.readable)).sha256).toBe(await object.sha256());
		expect(broken.size).toBe(2);
		expect(download.stats.retries).toBeGreaterThanOrEqual(2);
		expect(download.stats.concurrencyChanges.map((change) => change.reason)).not.toContain('reset');
		origin.fault(path, undefined);
	});
});

describe('the end', () => {
	it('cancelled with the window full: the bytes it held are let go, for a download still referenced', async () => {
		const path = '/cancel-memory.bin';
		const MiB = 1024 * KiB;
		origin.put(path, { size: 256 * MiB, seed: 28 });
		const download = new ParallelGetStream(origin.url(path), { chunkSize: 4 * MiB, concurrency: 4, maxBuffer: 32 * MiB, hedge: false, overlap: false });
		const reader = download.readable.getReader();
		await reader.read();
		// The reader stops: the window fills up to the budget.
		await vi.waitFor(() => expect(download.stats.bufferedBytes).toBeGreaterThan(12 * MiB), { timeout: 20_000, interval: 20 });
		await origin.whenIdle();
		gc!();
		const held = process.memoryUsage().arrayBuffers;
		await reader.cancel('enough');
		gc!();
		await new Promise((resolve) => setImmediate(resolve));
		gc!();
		expect(held - process.memoryUsage().arrayBuffers).toBeGreaterThan(8 * MiB);
		expect(download.stats.bufferedBytes).toBe(0);
	});

	it('a download that fails with nobody awaiting `info` leaves no unhandled rejection', async () => {
		const rejections: unknown[] = [];
		const onRejection = (reason: unknown): void => void rejections.push(reason);
		process.on('unhandledRejection', onRejection);
		onTestFinished(() => void process.off('unhandledRejection', onRejection));
		const path = '/gone.bin';
		origin.put(path, { size: chunkSize, seed: 20 });
		origin.fault(path, () => ({ status: 404 }));
		const download = new ParallelGetStream(origin.url(path), fast);
		expect(await rejection(drain(download.readable))).toMatchObject({ name: 'UnexpectedResponseError', status: 404 });
		await new Promise((resolve) => setImmediate(resolve));
		expect(rejections).toEqual([]);
		origin.fault(path, undefined);
	});

	it('cancelled with a chunk waiting to be retried, one stalled, hedging and `auto` armed: no timer of the download is left', async () => {
		const timers = trackTimers([fileURLToPath(new URL('../src/', import.meta.url))]);
		onTestFinished(() => timers.restore());
		const path = '/cancel-timers.bin';
		origin.put(path, { size: 16 * chunkSize, seed: 13 });
		// Chunk 1 stalls for good 1000 bytes in; chunk 2 is refused with a 503 each time (its retry waits a minute).
		origin.fault(path, ({ range }) => (range?.start === chunkSize ? { stallAfterBytes: 1000 } : range?.start === 2 * chunkSize ? { status: 503 } : undefined));
		const download = new ParallelGetStream(origin.url(path), { chunkSize, concurrency: { min: 4, max: 4 }, stallTimeout: false, hedge: { after: 50_000 }, retry: { limit: 3, delay: () => 60_000, jitter: false } });
		const reader = download.readable.getReader();
		const reading = (async () => {
			for (;;) if ((await reader.read()).done) return;
		})().catch(() => undefined);
		await vi.waitFor(() => expect(download.stats.retries).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
		void reader.cancel('enough');
		// A turn for the pull that was waiting to see the end (its own timer goes with its wait); the
		// download's timers are due in 0.27 s (the sample of 'auto') to 12 s.
		await new Promise((resolve) => setImmediate(resolve));
		expect(timers.pending().map((timer) => timer.where)).toEqual([]);
		await reading;
		origin.fault(path, undefined);
		await origin.whenIdle();
	});
});

describe('checkpoints and resumed downloads', () => {
	it('a checkpoint without a digest to verify has no `hash` member at all', async () => {
		const path = '/cp-keys.bin';
		const object = origin.put(path, { size: 4 * chunkSize, seed: 14 });
		const download = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 2 });
		const head = await readSome(download.readable, chunkSize);
		expect(download.checkpoint()).toStrictEqual({ url: origin.url(path), offset: head.byteLength, size: object.size, etag: object.etag });
	});

	it('resumed at the end from a Last-Modified checkpoint: `info` carries that Last-Modified, and no ETag', async () => {
		const path = '/cp-end-modified.bin';
		const object = origin.put(path, { size: 3 * chunkSize, seed: 15, etag: null });
		const resume = { url: origin.url(path), offset: object.size, size: object.size, lastModified: object.lastModified! };
		const resumed = new ParallelGetStream(origin.url(path), { ...fast, resume });
		expect(await drain(resumed.readable)).toMatchObject({ length: 0 });
		expect(await resumed.info).toStrictEqual({ size: object.size, lastModified: object.lastModified, mode: 'parallel', resumedFrom: object.size });
		expect(origin.requestsTo(path)).toHaveLength(0);
	});

	it('a resumed download is not cross-origin: retries exhausted on network errors give no CORS hint', async () => {
		const path = '/cp-dropped.bin';
		const object = origin.put(path, { size: 3 * chunkSize, seed: 16 });
		origin.fault(path, () => ({ dropConnection: true }));
		const resume = { url: origin.url(path), offset: chunkSize, size: object.size, etag: object.etag! };
		const resumed = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 1, retry: { limit: 1, delay: () => 1 }, resume });
		const error = await rejection(drain(resumed.readable));
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 2 });
		expect(error.message).not.toContain('cross-origin');
		origin.fault(path, undefined);
	});
});

describe('a resumed download verifies on from its hash only as the README says', () => {
	async function cut(path: string, digests: 'repr-digest'[]): Promise<{ bytes: Uint8Array; checkpoint: Checkpoint; head: Uint8Array }> {
		const object = origin.put(path, { size: 5 * chunkSize, seed: 19, digests });
		const first = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 2 });
		const head = await readSome(first.readable, 2 * chunkSize);
		return { bytes: object.slice(), checkpoint: first.checkpoint()!, head };
	}

	it("a server's digest: not with `verify: false`", async () => {
		const path = '/resume-server-digest.bin';
		const { bytes, checkpoint, head } = await cut(path, ['repr-digest']);
		const hash = await prefixHash({ algorithm: 'sha512', values: [digestOf('sha512', bytes)], encoding: 'base64', source: 'repr-digest' }, [head]);
		const rest = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 2, verify: false, resume: { ...checkpoint, hash } });
		expect((await rest.info).digest).toBeUndefined();
		expect((await drain(rest.readable)).length).toBe(bytes.byteLength - head.byteLength);
	});

	it("the caller's digest: only with `integrity` given again", async () => {
		const path = '/resume-caller-digest.bin';
		const { bytes, checkpoint, head } = await cut(path, []);
		const hash = await prefixHash({ algorithm: 'sha256', values: [digestOf('sha256', bytes)], encoding: 'base64', source: 'integrity' }, [head]);
		const rest = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 2, resume: { ...checkpoint, hash } });
		expect((await rest.info).digest).toBeUndefined();
		expect((await drain(rest.readable)).length).toBe(bytes.byteLength - head.byteLength);
		const again = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 2, integrity: `sha256-${base64(digestOf('sha256', bytes))}`, resume: { ...checkpoint, hash } });
		expect((await again.info).digest).toMatchObject({ algorithm: 'sha256', source: 'integrity' });
		expect((await drain(again.readable)).length).toBe(bytes.byteLength - head.byteLength);
	});
});

describe('an empty object', () => {
	it.each([
		['416 `bytes */0`', {}],
		['an empty 200', { acceptRanges: false }],
	])('%s: an empty stream, and nothing left in flight', async (_case, spec) => {
		const path = `/empty-${_case.length}.bin`;
		origin.put(path, { size: 0, ...spec });
		const download = new ParallelGetStream(origin.url(path), fast);
		expect(await drain(download.readable)).toMatchObject({ length: 0 });
		expect(await download.info).toMatchObject({ mode: 'empty', size: 0 });
		expect(download.stats).toMatchObject({ requests: 1, inFlight: 0, transferring: 0, loaded: 0 });
	});

	it('a `size` that an empty object contradicts fails with UnexpectedResponseError', async () => {
		const path = '/empty-contradicted.bin';
		origin.put(path, { size: 0 });
		const download = new ParallelGetStream(origin.url(path), { ...fast, size: 10 });
		expect(await rejection(drain(download.readable))).toMatchObject({ name: 'UnexpectedResponseError', message: expect.stringContaining('the object has 0 bytes, not the 10 given as `size`') });
	});
});

describe("'single' mode", () => {
	it.each(['Bytes', 'BYTES'])('`Accept-Ranges: %s` on a plain GET is `bytes`: the download can be resumed', async (value) => {
		const path = `/single-accept-${value}.bin`;
		const object = origin.put(path, { size: 4 * chunkSize, seed: 17 });
		origin.fault(path, () => ({ headers: { 'accept-ranges': value } }));
		const download = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 1 });
		const head = await readSome(download.readable, chunkSize);
		expect(await download.info).toMatchObject({ mode: 'single' });
		expect(download.checkpoint()).toStrictEqual({ url: origin.url(path), offset: head.byteLength, size: object.size, etag: object.etag });
		origin.fault(path, undefined);
	});

	it('a plain GET answered with an error status: its body is cancelled at once, not left holding its connection until the end', async () => {
		const path = '/single-503.bin';
		const object = origin.put(path, { size: 32 * 1024 * KiB, seed: 23 });
		// The first answer is a 503 with a body far larger than the socket's buffers (retried).
		origin.fault(path, ({ count }) => (count === 1 ? { status: 503, body: 'x'.repeat(16 * 1024 * KiB) } : undefined));
		const kept: Response[] = [];
		const fetch: typeof globalThis.fetch = async (input, init) => {
			const response = await globalThis.fetch(input, init);
			kept.push(response);
			return response;
		};
		const download = new ParallelGetStream(origin.url(path), { ...fast, fetch, concurrency: 1 });
		const reader = download.readable.getReader();
		expect((await reader.read()).done).toBe(false);
		// Nobody reads on: the download is still open.
		await vi.waitFor(() => expect(origin.requestsTo(path)[0]).toMatchObject({ status: 503, aborted: true }), { timeout: 10_000, interval: 20 });
		expect(download.stats.loaded).toBeLessThan(object.size);
		await reader.cancel('enough');
		origin.fault(path, undefined);
		await origin.whenIdle();
	});

	it('a plain GET whose length contradicts `size`: the download fails, and nothing is left in flight', async () => {
		const path = '/single-contradicted.bin';
		const object = origin.put(path, { size: 32 * 1024 * KiB, seed: 24 });
		const download = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 1, size: object.size + 1 });
		expect(await rejection(drain(download.readable))).toMatchObject({ name: 'UnexpectedResponseError', status: 200 });
		await origin.whenIdle();
		expect(origin.requestsTo(path)).toMatchObject([{ status: 200, aborted: true }]);
		expect(download.stats).toMatchObject({ requests: 1, inFlight: 0, transferring: 0, bufferedBytes: 0 });
	});

	it('a plain GET whose body ends short of its Content-Length fails with ERR_BODY_TOO_SHORT, not a stream closed early', async () => {
		// A `fetch` of the caller's (a proxy, a service worker) may hand back a body that ends short
		// without an error, unlike Node's, which fails such a body itself.
		const fetch: typeof globalThis.fetch = async () => new Response(new Uint8Array(chunkSize), { headers: { 'content-length': String(2 * chunkSize) } });
		const download = new ParallelGetStream('http://127.0.0.1:9/short.bin', { ...fast, fetch, concurrency: 1 });
		expect(await rejection(drain(download.readable))).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_BODY_TOO_SHORT' });
	});

	it('a plain GET of unknown length (chunked) gives no checkpoint, even where it accepts ranges: its size is not known', async () => {
		const path = '/single-chunked.bin';
		origin.put(path, { size: 4 * chunkSize, seed: 18 });
		origin.fault(path, () => ({ contentLength: null }));
		const download = new ParallelGetStream(origin.url(path), { ...fast, concurrency: 1 });
		await readSome(download.readable, chunkSize);
		expect(await download.info).toMatchObject({ mode: 'single', size: undefined });
		expect(origin.requestsTo(path)[0]!.headers.range).toBeUndefined();
		expect(download.checkpoint()).toBeUndefined();
		origin.fault(path, undefined);
	});
});
