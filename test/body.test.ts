import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readInto, readWhole } from '../src/core/body.ts';
import { Chunk } from '../src/core/chunk.ts';
import type { Opened } from '../src/core/request.ts';
import { StallError } from '../src/errors/stall-error.ts';
import { UnexpectedResponseError } from '../src/errors/unexpected-response-error.ts';
import { bytesAt, type FakeDownload, type FakeOptions, type Feed, fakeDownload, feed, partial, settle, takeAll } from './support/fake-download.ts';

/** The object's bytes `[start, end]`, as `takeAll` lists them. */
const span = (start: number, end: number): number[] => [...bytesAt(start, end - start + 1)];

/** A download of `size` bytes in chunks of `chunkSize`, with chunks `[first, last]` laid out as one run, and one range request for it open on a fed body. */
async function setUp(options: FakeOptions & { run?: [number, number]; range?: { start: number; end: number }; hedge?: boolean } = {}) {
	const download = fakeDownload({ size: 30, ...options });
	const [first, last] = options.run ?? [0, 0];
	const run: Chunk[] = [];
	for (let index = first; index <= last; index++) run.push(download.plan.addChunk(index));
	const body = feed();
	download.answers.push(partial(body.stream));
	const range = options.range ?? { start: (run[0] as Chunk).start, end: (run[run.length - 1] as Chunk).end };
	const opened = await download.requests.open(range, undefined, run[0]);
	if (options.hedge) opened.request.hedge = true;
	return { download, run, body, opened, controller: opened.request.controller };
}

/** Starts `readInto`, its verdict kept (a rejection too) for the test to look at once it settles. */
function start(download: FakeDownload, run: Chunk[], opened: Opened) {
	let outcome: { value?: boolean; error?: unknown } | undefined;
	const read = readInto(download, run, opened).then(
		(value) => void (outcome = { value }),
		(error: unknown) => void (outcome = { error }),
	);
	return { read, outcome: () => outcome };
}

async function push(body: Feed, offset: number, length: number): Promise<void> {
	body.push(bytesAt(offset, length));
	await settle();
}

afterEach(() => {
	vi.useRealTimers();
	vi.restoreAllMocks();
});

describe('readInto', () => {
	it('puts each byte of a body into the chunk of the run it belongs to, and keeps the connection of a body read to its end', async () => {
		const { download, run, body, opened, controller } = await setUp({ run: [0, 2] });
		const reading = start(download, run, opened);
		// A piece one byte short of a bound, then pieces that cross the bounds, one ending right at one.
		await push(body, 0, 9);
		await push(body, 9, 11);
		await push(body, 20, 10);
		body.end();
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
		expect(run.map((chunk) => takeAll(download, chunk).bytes)).toEqual([span(0, 9), span(10, 19), span(20, 29)]);
		expect(run.map((chunk) => chunk.done)).toEqual([true, true, true]);
		expect(run.map((chunk) => chunk.requests.size)).toEqual([0, 0, 0]);
		expect(download.counters.bytesReceived).toBe(30);
		expect(download.counters.inFlight).toBe(0);
		// Released as complete: its connection is not aborted.
		expect(controller.signal.aborted).toBe(false);
		expect(body.cancelled).toEqual([]);
	});

	it('moves the request on to the next chunk of its run when a piece ends at a chunk bound, restarting that chunk\'s clock', async () => {
		let now = 1000;
		vi.spyOn(performance, 'now').mockImplementation(() => now);
		const { download, run, body, opened, controller } = await setUp({ run: [0, 1], size: 20 });
		const [first, second] = run as [Chunk, Chunk];
		const reading = start(download, run, opened);
		now = 1500;
		await push(body, 0, 10);
		expect(first.requests.has(controller)).toBe(false);
		expect(second.requests.has(controller)).toBe(true);
		expect(second.lastProgressAt).toBe(1500);
		await push(body, 10, 10);
		body.end();
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
	});

	it('wakes the consumer for bytes of the head chunk only', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 1], size: 20 });
		const reading = start(download, run, opened);
		await push(body, 0, 4);
		expect(download.wakes).toBe(1);
		await push(body, 4, 6);
		expect(download.wakes).toBe(2);
		await push(body, 10, 10);
		expect(download.wakes).toBe(2);
		body.end();
		await reading.read;
	});

	it('counts the bytes received and buffered, and the most buffered at once', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 1], size: 20 });
		const reading = start(download, run, opened);
		await push(body, 0, 8);
		expect([download.counters.bytesReceived, download.counters.bufferedBytes, download.counters.maxBufferedBytes]).toEqual([8, 8, 8]);
		takeAll(download, run[0] as Chunk);
		await push(body, 8, 3);
		expect([download.counters.bytesReceived, download.counters.bufferedBytes, download.counters.maxBufferedBytes]).toEqual([11, 3, 8]);
		await push(body, 11, 9);
		expect([download.counters.bytesReceived, download.counters.bufferedBytes, download.counters.maxBufferedBytes]).toEqual([20, 12, 12]);
		body.end();
		await reading.read;
	});

	it('fails the download on a body longer than the range asked for, keeping none of its bytes', async () => {
		const { download, run, body, opened } = await setUp({ run: [1, 1] });
		const reading = start(download, run, opened);
		await push(body, 10, 4);
		// One byte more than the 6 left.
		await push(body, 14, 7);
		await reading.read;
		const error = reading.outcome()?.error;
		expect(error).toBeInstanceOf(UnexpectedResponseError);
		expect(error).toMatchObject({ code: 'ERR_BODY_TOO_LONG', status: 206, range: { start: 10, end: 19 }, message: expect.stringContaining('longer than the 10 bytes asked for') });
		expect(download.failures).toEqual([error]);
		expect((run[0] as Chunk).received).toBe(4);
		expect(download.counters.inFlight).toBe(0);
	});

	it('takes a body that ends exactly where the range does', async () => {
		const { download, run, body, opened } = await setUp({ run: [1, 1] });
		const reading = start(download, run, opened);
		await push(body, 10, 10);
		body.end();
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
		expect(download.failures).toEqual([]);
	});

	it('counts a body as too long past the object\'s end even when the range asked for more', async () => {
		const { download, run, body, opened } = await setUp({ run: [2, 2], range: { start: 20, end: 39 } });
		const reading = start(download, run, opened);
		await push(body, 20, 11);
		await reading.read;
		expect(reading.outcome()?.error).toMatchObject({ code: 'ERR_BODY_TOO_LONG', range: { start: 20, end: 29 } });
	});

	it('stops reading where the run ends when its tail was split off after the request was sent, and drops the connection', async () => {
		const { download, run, body, opened, controller } = await setUp({ run: [0, 0], size: 20, chunkSize: 20 });
		const tail = (run[0] as Chunk).split(12, 0);
		const reading = start(download, run, opened);
		await push(body, 0, 15);
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
		expect(takeAll(download, run[0] as Chunk).bytes).toEqual(span(0, 11));
		expect(tail.received).toBe(0);
		expect(download.failures).toEqual([]);
		expect(controller.signal.aborted).toBe(true);
		expect(body.cancelled).toHaveLength(1);
		expect(download.counters.inFlight).toBe(0);
	});

	it('stops at the end of a split run whose last piece ends at the split', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0], size: 20, chunkSize: 20 });
		(run[0] as Chunk).split(12, 0);
		const reading = start(download, run, opened);
		await push(body, 0, 12);
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
		expect(body.cancelled).toHaveLength(1);
	});

	it('stops at the end of a split run only once the run is complete', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0], size: 20, chunkSize: 20 });
		(run[0] as Chunk).split(12, 0);
		const reading = start(download, run, opened);
		await push(body, 0, 11);
		expect(reading.outcome()).toBeUndefined();
		await push(body, 11, 4);
		expect(reading.outcome()).toEqual({ value: false });
		expect([run[0]?.received, run[0]?.done]).toEqual([12, true]);
		expect(body.cancelled).toHaveLength(1);
	});

	it('is redundant once another request completed the chunk it reads (a hedge)', async () => {
		const { download, run, body, opened, controller } = await setUp({ run: [0, 0] });
		const chunk = run[0] as Chunk;
		const reading = start(download, run, opened);
		await push(body, 0, 4);
		chunk.accept(4, bytesAt(4, 6), 0, new AbortController());
		await settle();
		expect(reading.outcome()).toEqual({ value: true });
		expect(controller.signal.aborted).toBe(true);
		expect(body.cancelled).toHaveLength(1);
		expect(download.counters.inFlight).toBe(0);
	});

	it('is redundant when it reaches a chunk of its run that another request has completed already', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 1], size: 20 });
		const [, second] = run as [Chunk, Chunk];
		second.accept(10, bytesAt(10, 10), 0, new AbortController());
		const reading = start(download, run, opened);
		await push(body, 0, 15);
		expect(reading.outcome()).toEqual({ value: true });
		expect(body.cancelled).toHaveLength(1);
	});

	it('is redundant when it reaches a completed chunk one byte short of that chunk\'s end', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 1], size: 20 });
		const [, second] = run as [Chunk, Chunk];
		second.accept(10, bytesAt(10, 10), 0, new AbortController());
		const reading = start(download, run, opened);
		await push(body, 0, 19);
		expect(reading.outcome()).toEqual({ value: true });
	});

	it('fails with the read\'s error after completing its own chunk: nobody else made it redundant', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0] });
		const reading = start(download, run, opened);
		await push(body, 0, 10);
		const reset = new TypeError('terminated');
		body.fail(reset);
		await reading.read;
		expect(reading.outcome()).toEqual({ error: reset });
	});

	it('fails with the download\'s reason once it has ended, even if another request completed the chunk', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0] });
		const chunk = run[0] as Chunk;
		const reading = start(download, run, opened);
		await push(body, 0, 4);
		chunk.accept(4, bytesAt(4, 6), 0, new AbortController());
		const cancelled = new Error('cancelled by the caller');
		download.fail(cancelled);
		await reading.read;
		expect(reading.outcome()).toEqual({ error: cancelled });
	});

	it('ends a read that waits for bytes once its request is aborted, cancelling the body with the reason', async () => {
		const { download, run, body, opened, controller } = await setUp({ run: [0, 0] });
		const reading = start(download, run, opened);
		await push(body, 0, 4);
		const stall = new StallError(1000);
		controller.abort(stall);
		await reading.read;
		expect(reading.outcome()).toEqual({ error: stall });
		expect(body.cancelled[0]).toBe(stall);
		expect(download.counters.inFlight).toBe(0);
		expect(run[0]?.requests.size).toBe(0);
	});

	it('leaves no listener on its request\'s signal, whichever way the read ended', async () => {
		const complete = await setUp({ run: [0, 0] });
		const reading = start(complete.download, complete.run, complete.opened);
		expect(getEventListeners(complete.controller.signal, 'abort')).toHaveLength(1);
		await push(complete.body, 0, 10);
		complete.body.end();
		await reading.read;
		expect(getEventListeners(complete.controller.signal, 'abort')).toHaveLength(0);
		const broken = await setUp({ run: [0, 0] });
		const failing = start(broken.download, broken.run, broken.opened);
		broken.body.fail(new TypeError('terminated'));
		await failing.read;
		expect(getEventListeners(broken.controller.signal, 'abort')).toHaveLength(0);
	});

	it('releases a response without a body at once', async () => {
		const download = fakeDownload({ size: 30 });
		const chunk = download.plan.addChunk(0);
		download.answers.push(partial(null));
		const opened = await download.requests.open({ start: 0, end: 9 }, undefined, chunk);
		expect(await readInto(download, [chunk], opened)).toBe(false);
		expect(download.counters.inFlight).toBe(0);
		expect(chunk.requests.size).toBe(0);
	});

	it('keeps the stall watchdog fed by each piece', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		const { download, run, body, opened, controller } = await setUp({ run: [0, 2], stallTimeout: 1000 });
		const reading = start(download, run, opened);
		for (let offset = 0; offset < 30; offset += 5) {
			vi.advanceTimersByTime(700);
			await push(body, offset, 5);
			expect(controller.signal.aborted).toBe(false);
		}
		body.end();
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
	});
});

describe('readInto, the pace (overlap)', () => {
	/** A run of one 100-byte chunk whose slot may let go near its end; the time to first byte is `ttfb`. */
	async function paced(ttfb: number | undefined, nearEnd = true) {
		let now = 1000;
		vi.spyOn(performance, 'now').mockImplementation(() => now);
		const set = await setUp({ run: [0, 0], size: 100, chunkSize: 100 });
		set.download.requests.ttfb = ttfb;
		const calls: number[] = [];
		const last = set.run[0] as Chunk;
		if (nearEnd) last.nearEnd = () => void calls.push(now);
		const reading = start(set.download, set.run, set.opened);
		return { ...set, reading, calls, at: (time: number) => void (now = time) };
	}

	it('lets the slot go once what is left takes no longer, at the pace since the first piece, than a time to first byte', async () => {
		const { body, calls, at, reading } = await paced(10);
		await push(body, 0, 10);
		at(1010);
		// 44 bytes in 10 ms: the 46 left take longer than 10 ms.
		await push(body, 10, 44);
		expect(calls).toEqual([]);
		at(1020);
		// 45 more in 10 ms, 89 in 20: the 1 left takes less.
		await push(body, 54, 45);
		expect(calls).toEqual([1020]);
		await push(body, 99, 1);
		body.end();
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
	});

	it('measures the pace from the first piece, not from the request', async () => {
		const { body, calls, at } = await paced(10);
		at(5000);
		await push(body, 0, 10);
		at(5010);
		// 45 bytes in the 10 ms since the first piece: the 45 left take as long as a time to first byte.
		await push(body, 10, 45);
		expect(calls).toEqual([5010]);
	});

	it('does not count the first piece itself in the pace', async () => {
		const { body, calls, at } = await paced(10);
		await push(body, 0, 50);
		at(1010);
		// 5 bytes in 10 ms since the first piece: the 45 left take far longer.
		await push(body, 50, 5);
		expect(calls).toEqual([]);
	});

	it('waits a time to first byte of reading before it judges the pace', async () => {
		const { body, calls, at } = await paced(10);
		await push(body, 0, 10);
		at(1009);
		await push(body, 10, 80);
		expect(calls).toEqual([]);
	});

	it('reads on without a slot to let go, and without a time to first byte', async () => {
		for (const [ttfb, nearEnd] of [
			[10, false],
			[undefined, true],
		] as const) {
			const { body, calls, at, reading } = await paced(ttfb, nearEnd);
			await push(body, 0, 10);
			at(1100);
			await push(body, 10, 80);
			expect(calls).toEqual([]);
			await push(body, 90, 10);
			body.end();
			await reading.read;
			expect(reading.outcome()).toEqual({ value: false });
			vi.restoreAllMocks();
		}
	});
});

describe('readInto, a piece larger than the window', () => {
	/** One chunk of 100 bytes read by a request whose window holds 10. */
	async function big(options: FakeOptions = {}) {
		const download = fakeDownload({ size: 100, chunkSize: 10, maxBuffer: 10, ...options });
		const chunk = new Chunk(0, 0, 99, 0);
		download.plan.chunks.set(0, chunk);
		const body = feed();
		download.answers.push(partial(body.stream));
		const opened = await download.requests.open({ start: 0, end: 99 }, undefined, chunk);
		const reading = start(download, [chunk], opened);
		return { download, chunk, body, opened, reading, controller: opened.request.controller };
	}

	it('keeps no more than the window, and takes the rest as the consumer makes room', async () => {
		const { download, chunk, body, reading, controller } = await big();
		await push(body, 0, 25);
		expect(chunk.bufferedBytes).toBe(10);
		expect(download.waitingForRoom).toBe(1);
		// Room made without bytes taken: it waits on.
		download.makeRoom();
		await settle();
		expect(chunk.bufferedBytes).toBe(10);
		const taken = [...takeAll(download, chunk).bytes];
		download.makeRoom();
		await settle();
		expect(chunk.bufferedBytes).toBe(10);
		taken.push(...takeAll(download, chunk).bytes);
		download.makeRoom();
		await settle();
		expect(chunk.bufferedBytes).toBe(5);
		await push(body, 25, 75);
		while (!chunk.done) {
			taken.push(...takeAll(download, chunk).bytes);
			download.makeRoom();
			await settle();
		}
		taken.push(...takeAll(download, chunk).bytes);
		body.end();
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
		expect(taken).toEqual(span(0, 99));
		expect(download.counters.maxBufferedBytes).toBe(10);
		// Neither the read nor its waits for room left a listener on the request's signal.
		expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
	});

	it('counts the piece the verifier holds back against the window, in parts of half the window', async () => {
		const { download, chunk, body } = await big({ verifier: { heldBytes: 4 } });
		await push(body, 0, 25);
		expect(takeAll(download, chunk).sizes).toEqual([5, 1]);
	});

	it('takes parts of half the window while the verifier loads', async () => {
		const { download, chunk, body } = await big({ loading: new Promise(() => {}) });
		await push(body, 0, 25);
		expect(takeAll(download, chunk).sizes).toEqual([5, 5]);
	});

	it('reads a chunk as large as the window as it comes: the plan bounds such chunks, not the read', async () => {
		const download = fakeDownload({ size: 20, chunkSize: 10, maxBuffer: 10, verifier: { heldBytes: 4 } });
		const chunk = download.plan.addChunk(0);
		const body = feed();
		download.answers.push(partial(body.stream));
		const opened = await download.requests.open({ start: 0, end: 9 }, undefined, chunk);
		const reading = start(download, [chunk], opened);
		await push(body, 0, 10);
		expect(takeAll(download, chunk).sizes).toEqual([10]);
		body.end();
		await reading.read;
		expect(reading.outcome()).toEqual({ value: false });
	});

	it('takes parts as large as the window when nothing is verified', async () => {
		const { download, chunk, body } = await big();
		await push(body, 0, 25);
		expect(takeAll(download, chunk).sizes).toEqual([10]);
	});

	it('ends its wait for room when the request is aborted', async () => {
		const { chunk, body, reading, controller } = await big();
		await push(body, 0, 25);
		const reason = new Error('aborted');
		controller.abort(reason);
		await reading.read;
		expect(reading.outcome()).toEqual({ error: reason });
		expect(chunk.received).toBe(10);
	});

	it('counts no stall while the consumer is the slow one, and counts again once it made room', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		const { download, chunk, body, reading, controller } = await big({ stallTimeout: 1000 });
		await push(body, 0, 15);
		vi.advanceTimersByTime(5000);
		expect(controller.signal.aborted).toBe(false);
		takeAll(download, chunk);
		download.makeRoom();
		await settle();
		expect(chunk.received).toBe(15);
		vi.advanceTimersByTime(999);
		expect(controller.signal.aborted).toBe(false);
		vi.advanceTimersByTime(1);
		expect(controller.signal.reason).toBeInstanceOf(StallError);
		await reading.read;
		expect(reading.outcome()?.error).toBeInstanceOf(StallError);
	});
});

describe('accept, hedges', () => {
	it('a hedge that completes a hedged chunk is a hedge won: counted, and the hedge delay halves down to hedge.after', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0], hedge: true, hedgeAfter: 100 });
		const chunk = run[0] as Chunk;
		chunk.hedged = 1;
		download.hedgeAfter = 400;
		const reading = start(download, run, opened);
		await push(body, 0, 4);
		expect(chunk.hedgeDelivered).toBe(true);
		expect([download.counters.hedgesWon, download.hedgeAfter]).toEqual([0, 400]);
		await push(body, 4, 6);
		expect([download.counters.hedgesWon, download.hedgeAfter]).toEqual([1, 200]);
		body.end();
		await reading.read;
	});

	it('the quiet request that completes its hedged chunk before any hedge delivered a byte was a false alarm: the hedge delay doubles', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0], hedgeAfter: 100 });
		const chunk = run[0] as Chunk;
		chunk.hedged = 1;
		const reading = start(download, run, opened);
		await push(body, 0, 4);
		expect(download.hedgeAfter).toBe(100);
		await push(body, 4, 6);
		expect([download.counters.hedgesWon, download.hedgeAfter, chunk.hedgeDelivered]).toEqual([0, 200, false]);
		body.end();
		await reading.read;
	});

	it('no false alarm when a hedge delivered bytes first, nor for a chunk never hedged', async () => {
		for (const [hedged, delivered] of [
			[1, true],
			[0, false],
		] as const) {
			const { download, run, body, opened } = await setUp({ run: [0, 0], hedgeAfter: 100 });
			const chunk = run[0] as Chunk;
			chunk.hedged = hedged;
			chunk.hedgeDelivered = delivered;
			const reading = start(download, run, opened);
			await push(body, 0, 10);
			expect([download.counters.hedgesWon, download.hedgeAfter]).toEqual([0, 100]);
			body.end();
			await reading.read;
		}
	});

	it('a hedge that completes a chunk never hedged (a chunk past the quiet one) wins nothing', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0], hedge: true, hedgeAfter: 100 });
		download.hedgeAfter = 400;
		const reading = start(download, run, opened);
		await push(body, 0, 10);
		expect([download.counters.hedgesWon, download.hedgeAfter]).toEqual([0, 400]);
		body.end();
		await reading.read;
	});

	it('bytes a hedge repeats change nothing', async () => {
		const { download, run, body, opened } = await setUp({ run: [0, 0], hedge: true, hedgeAfter: 100 });
		const chunk = run[0] as Chunk;
		chunk.accept(0, bytesAt(0, 6), 0, new AbortController());
		chunk.hedged = 1;
		download.hedgeAfter = 400;
		const reading = start(download, run, opened);
		await push(body, 0, 4);
		expect([chunk.hedgeDelivered, download.counters.bytesReceived, download.wakes]).toEqual([false, 0, 0]);
		body.end();
		await reading.read;
	});
});

describe('readWhole', () => {
	/** One plain GET for the whole object, of `size` bytes (undefined: unknown), into its only chunk. */
	async function whole(size: number | undefined, callerSize?: number) {
		const download = fakeDownload({ size, chunkSize: 1000 });
		if (callerSize !== undefined) (download.options as { size: number }).size = callerSize;
		const chunk = new Chunk(0, 0, size === undefined ? Number.POSITIVE_INFINITY : size - 1, 0);
		const body = feed();
		download.answers.push(new Response(body.stream, { status: 200 }));
		const opened = await download.requests.open(undefined, undefined, chunk);
		let outcome: { error?: unknown } | undefined;
		const read = readWhole(download, chunk, opened).then(
			() => void (outcome = {}),
			(error: unknown) => void (outcome = { error }),
		);
		return { download, chunk, body, read, outcome: () => outcome, controller: opened.request.controller };
	}

	it('reads a body of unknown length to its end, which sets the chunk\'s end', async () => {
		const { download, chunk, body, read, outcome } = await whole(undefined);
		await push(body, 0, 25);
		body.end();
		await read;
		expect(outcome()).toEqual({});
		expect([chunk.end, chunk.done]).toEqual([24, true]);
		expect(takeAll(download, chunk).bytes).toEqual(span(0, 24));
	});

	it('checks the caller\'s size against a body of unknown length', async () => {
		const { body, read, outcome } = await whole(undefined, 30);
		await push(body, 0, 25);
		body.end();
		await read;
		expect(outcome()?.error).toBeInstanceOf(UnexpectedResponseError);
		expect((outcome()?.error as Error).message).toContain('25 bytes, not the 30');
	});

	it('fails a body shorter than the object, not resumable', async () => {
		const { body, read, outcome } = await whole(30);
		await push(body, 0, 25);
		body.end();
		await read;
		expect(outcome()?.error).toMatchObject({ code: 'ERR_BODY_TOO_SHORT', status: 200, message: expect.stringContaining(': the body ended after 25 of 30 bytes') });
	});

	it('fails the download on a body longer than the object, by the object\'s size', async () => {
		const { download, body, read, outcome } = await whole(30);
		await push(body, 0, 31);
		await read;
		expect(outcome()).toEqual({});
		expect(download.failures).toEqual([expect.objectContaining({ code: 'ERR_BODY_TOO_LONG' })]);
	});

	it('takes a body of exactly the object\'s size', async () => {
		const { chunk, body, read, outcome } = await whole(30);
		await push(body, 0, 30);
		body.end();
		await read;
		expect(outcome()).toEqual({});
		expect(chunk.done).toBe(true);
	});

	it('a body that breaks off cannot be resumed: ERR_BODY_TOO_SHORT, with the fault as its cause', async () => {
		const { body, read, outcome } = await whole(30);
		await push(body, 0, 12);
		const reset = new TypeError('terminated');
		body.fail(reset);
		await read;
		expect(outcome()?.error).toMatchObject({ code: 'ERR_BODY_TOO_SHORT', status: 200, message: expect.stringContaining(': the response broke off after 12 bytes and cannot be resumed'), cause: reset });
	});

	it('a stall is a break too; the download\'s own errors pass as they are', async () => {
		const stalled = await whole(30);
		await push(stalled.body, 0, 12);
		stalled.controller.abort(new StallError(1000));
		await stalled.read;
		expect(stalled.outcome()?.error).toMatchObject({ code: 'ERR_BODY_TOO_SHORT', cause: expect.any(StallError) });
		const own = await whole(30);
		await push(own.body, 0, 12);
		const verdict = new UnexpectedResponseError('a verdict', { status: 200 });
		own.body.fail(verdict);
		await own.read;
		expect(own.outcome()).toEqual({ error: verdict });
	});

	it('ends quietly once the download has ended', async () => {
		const { download, body, read, outcome } = await whole(30);
		await push(body, 0, 12);
		download.fail(new Error('cancelled'));
		await read;
		expect(outcome()).toEqual({});
	});
});
