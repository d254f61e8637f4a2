import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Chunk } from '../src/core/chunk.ts';
import { RangeRequest } from '../src/core/range-request.ts';
import { type Opened, RESTART, type Tracked } from '../src/core/request.ts';
import { RevisionChangedError } from '../src/errors/revision-changed-error.ts';
import { StallError } from '../src/errors/stall-error.ts';
import { UnexpectedResponseError } from '../src/errors/unexpected-response-error.ts';
import type { Pin } from '../src/http/validators.ts';
import { bytesAt, type FakeDownload, type FakeOptions, type Feed, fakeDownload, feed, settle, takeAll } from './support/fake-download.ts';

const PIN: Pin = { kind: 'etag', etag: '"v1"', lastModified: undefined };

afterEach(() => {
	vi.restoreAllMocks();
});

/** A 206 for `bytes=start-end` of a `size`-byte object, its body fed by the test or whole at once. */
function answer206(start: number, end: number, size: number, body?: Feed, headers: Record<string, string> = { etag: '"v1"' }): Response {
	const stream =
		body?.stream ??
		new ReadableStream<Uint8Array<ArrayBuffer>>({
			start(controller) {
				controller.enqueue(bytesAt(start, end - start + 1));
				controller.close();
			},
		});
	return new Response(stream, { status: 206, headers: { 'content-range': `bytes ${start}-${end}/${size}`, ...headers } });
}

/** The range a request asked for (`bytes=a-b`, `bytes=a-`: to the object's end). */
function asked(headers: Headers, size: number): [number, number] {
	const [, start, end] = /^bytes=(\d+)-(\d*)$/.exec(headers.get('range') ?? '') ?? [];
	return [Number(start), end ? Number(end) : size - 1];
}

/** Answers every request for the rest of the object with its bytes at once. */
function serveWhole(download: FakeDownload, size: number, headers?: Record<string, string>): void {
	download.answers.push(...Array.from({ length: 10 }, () => (sent: Headers) => answer206(...asked(sent, size), size, undefined, headers)));
}

/** A download with a run of chunks `[first, last]` (chunks of 10 bytes), pinned unless `pin` says otherwise, and the requests it opens. */
function setUp(options: FakeOptions & { run?: [number, number] } = {}) {
	const download = fakeDownload({ size: 30, pin: PIN, ...options });
	const [first, last] = options.run ?? [0, 2];
	const run: Chunk[] = [];
	for (let index = first; index <= last; index++) run.push(download.plan.addChunk(index));
	const open = vi.spyOn(download.requests, 'open');
	/** The requests opened so far, in order. */
	const opened = async (): Promise<Opened[]> => Promise.all(open.mock.results.map((result) => result.value as Promise<Opened>));
	const done = (): boolean => download.endedPlaces.includes('slot') || download.endedPlaces.includes('early') || download.failures.length > 0;
	return { download, run, opened, done };
}

/**
 * Waits for `condition`, letting timers run too (a retry waits its backoff, 0 ms here, on a timer):
 * a bound on turns alone ran out before the timer's turn on a busy machine.
 */
async function until(condition: () => boolean): Promise<void> {
	const giveUp = Date.now() + 10_000;
	while (!condition() && Date.now() < giveUp) {
		await settle();
		await new Promise((resolve) => setTimeout(resolve, 1));
	}
	expect(condition()).toBe(true);
}

const ranges = (download: FakeDownload): (string | null)[] => download.sent.map((headers) => headers.get('range'));

describe('RangeRequest', () => {
	it('reads its run on one pinned request, checked before a byte is kept, and gives its slot back', async () => {
		const { download, run, done } = setUp();
		serveWhole(download, 30);
		new RangeRequest(download, run).start();
		expect(download.slots.running).toBe(1);
		await until(done);
		expect(download.endedPlaces).toEqual(['slot']);
		expect(ranges(download)).toEqual(['bytes=0-29']);
		expect(download.sent[0]?.get('if-match')).toBe('"v1"');
		expect(run.map((chunk) => takeAll(download, chunk).bytes)).toEqual([0, 10, 20].map((start) => [...bytesAt(start, 10)]));
		expect(download.checkedAnswers).toHaveLength(1);
		expect(download.digestChecks).toEqual([[download.checkedAnswers[0], { start: 0, end: 29 }]]);
		expect(run[2]?.nearEnd).toBeUndefined();
	});

	it('reads the response sent with discovery first, once: a retry sends a new request from the first byte missing', async () => {
		const { download, run, opened, done } = setUp();
		const body = feed();
		download.answers.push(answer206(0, 29, 30, body));
		const first = await download.requests.open({ start: 0, end: 29 }, PIN, run[0]);
		serveWhole(download, 30);
		new RangeRequest(download, run, first).start();
		body.push(bytesAt(0, 13));
		await settle();
		// Its slot reads it: hedging may leave it behind.
		expect(download.requests.slotRequest(run[1] as Chunk)).toBe(first.request);
		const reset = new TypeError('terminated');
		body.fail(reset);
		await until(done);
		expect(first.request.state).toBe('failed');
		expect(download.retried).toEqual([reset]);
		expect(ranges(download)).toEqual(['bytes=0-29', 'bytes=13-29']);
		expect((await opened()).map((request) => request.request.hedge)).toEqual([false, false]);
		expect(run.flatMap((chunk) => takeAll(download, chunk).bytes)).toEqual([...bytesAt(0, 30)]);
		expect(download.endedPlaces).toEqual(['slot']);
	});

	it('a body that ends short of its range is retried for the rest', async () => {
		const { download, run, done } = setUp();
		const body = feed();
		download.answers.push(answer206(0, 29, 30, body));
		serveWhole(download, 30);
		new RangeRequest(download, run).start();
		await settle();
		body.push(bytesAt(0, 13));
		body.end();
		await until(done);
		expect(download.retried).toHaveLength(1);
		const short = download.retried[0] as UnexpectedResponseError;
		expect(short).toBeInstanceOf(UnexpectedResponseError);
		expect(short).toMatchObject({ code: 'ERR_BODY_TOO_SHORT', retryable: true, status: 206, range: { start: 0, end: 29 } });
		expect(short.message).toContain(': the body ended 17 bytes short');
		expect(ranges(download)).toEqual(['bytes=0-29', 'bytes=13-29']);
		expect(download.failures).toEqual([]);
	});

	it('sends nothing more for a run that another request completed while it waited to retry', async () => {
		const { download, run, done } = setUp();
		download.answers.push(new TypeError('fetch failed'));
		download.failed = () => {
			for (const chunk of run) chunk.accept(chunk.start, bytesAt(chunk.start, 10), 0, new AbortController());
		};
		new RangeRequest(download, run).start();
		await until(done);
		expect(download.sent).toHaveLength(1);
		expect(download.endedPlaces).toEqual(['slot']);
	});

	it('takes a pinned answer without a validator: its precondition guarded it', async () => {
		const { download, run, done } = setUp();
		serveWhole(download, 30, {});
		new RangeRequest(download, run).start();
		await until(done);
		expect([download.retried, download.failures, download.endedPlaces]).toEqual([[], [], ['slot']]);
	});

	it('asks for the object\'s last range open-ended when its total is the caller\'s size (Content-Range hidden)', async () => {
		for (const [first, last, expected] of [
			[1, 2, 'bytes=10-'],
			[0, 1, 'bytes=0-19'],
		] as const) {
			const { download, run } = setUp({ totalFromCaller: true, run: [first, last] });
			download.answers.push(() => new Promise<Response>(() => {}));
			new RangeRequest(download, run).start();
			await settle();
			expect(ranges(download)).toEqual([expected]);
		}
	});

	it('a fatal verdict fails the download', async () => {
		const { download, run, done } = setUp();
		download.answers.push(answer206(0, 29, 30, undefined, { etag: '"v2"' }));
		new RangeRequest(download, run).start();
		await until(done);
		expect(download.failures).toEqual([expect.any(RevisionChangedError)]);
		expect(download.endedPlaces).toEqual([]);
	});

	it('an answer that fails its checks is given up: its body cancelled, its request released', async () => {
		const { download, run, done } = setUp();
		const body = feed();
		download.answers.push(new Response(body.stream, { status: 200 }));
		serveWhole(download, 30);
		new RangeRequest(download, run).start();
		await until(done);
		expect(download.retried).toEqual([expect.objectContaining({ status: 200, retryable: true })]);
		expect(body.cancelled).toHaveLength(1);
		expect(download.counters.inFlight).toBe(0);
		expect(download.checkedAnswers).toHaveLength(1);
	});
});

describe('RangeRequest, overlap', () => {
	it('near its end, gives its slot back for the next request and ends as an early place', async () => {
		const { download, run, done } = setUp({ overlap: true, concurrency: 1 });
		const body = feed();
		download.answers.push(answer206(0, 29, 30, body));
		new RangeRequest(download, run).start();
		const last = run[2] as Chunk;
		expect(last.nearEnd).toBeTypeOf('function');
		last.nearEnd?.();
		expect(last.nearEnd).toBeUndefined();
		expect([download.slots.running, download.slots.extra, download.counters.overlaps, download.schedules]).toEqual([0, 1, 1, 1]);
		await settle();
		body.push(bytesAt(0, 30));
		body.end();
		await until(done);
		expect(download.endedPlaces).toEqual(['early']);
	});

	it('a run that ends before it neared its end leaves no way to let its slot go', async () => {
		const { download, run, done } = setUp({ overlap: true, concurrency: 1 });
		serveWhole(download, 30);
		new RangeRequest(download, run).start();
		await until(done);
		expect(download.endedPlaces).toEqual(['slot']);
		expect((run[2] as Chunk).nearEnd).toBeUndefined();
	});

	it('keeps its slot while every slot\'s run has been let go already, or once the download ended', async () => {
		for (const block of ['letGo', 'settled'] as const) {
			const { download, run } = setUp({ overlap: true, concurrency: 1 });
			download.answers.push(answer206(0, 29, 30, feed()));
			if (block === 'letGo') download.slots.take('early');
			new RangeRequest(download, run).start();
			if (block === 'settled') download.settled = true;
			(run[2] as Chunk).nearEnd?.();
			expect([download.slots.running, download.counters.overlaps, download.schedules]).toEqual([1, 0, 0]);
			expect((run[2] as Chunk).nearEnd).toBeTypeOf('function');
		}
	});

	it('without overlap, never lets its slot go', () => {
		const { download, run } = setUp();
		download.answers.push(answer206(0, 29, 30, feed()));
		new RangeRequest(download, run).start();
		expect((run[2] as Chunk).nearEnd).toBeUndefined();
	});
});

describe('RangeRequest, hedging', () => {
	/** A run whose first request is fed by the test and then left behind or restarted; the next answers come whole. */
	async function quiet() {
		const set = setUp();
		const body = feed();
		set.download.answers.push(answer206(0, 29, 30, body));
		new RangeRequest(set.download, set.run).start();
		await settle();
		body.push(bytesAt(0, 5));
		await settle();
		const slotRequest = set.download.requests.slotRequest(set.run[0] as Chunk) as Tracked;
		return { ...set, body, slotRequest };
	}

	it('a request left behind goes on by itself on a detached place; the slot asks again on a hedge, which wins', async () => {
		const { download, run, done, body, slotRequest, opened } = await quiet();
		serveWhole(download, 30);
		(slotRequest.detach as () => void)();
		expect([slotRequest.state, slotRequest.detach, download.slots.detached]).toEqual(['detached', undefined, 1]);
		await until(done);
		const [left, hedge] = (await opened()).map((request) => request.request);
		expect(left).toBe(slotRequest);
		expect([left?.hedge, hedge?.hedge]).toEqual([false, true]);
		expect(ranges(download)).toEqual(['bytes=0-29', 'bytes=5-29']);
		// The hedge completed the run: the request left behind stopped, and gave its place back.
		await until(() => download.endedPlaces.includes('detached'));
		expect(left?.state).toBe('done');
		expect(hedge?.state).toBe('done');
		expect(download.endedPlaces.toSorted()).toEqual(['detached', 'slot']);
		expect(body.cancelled).toHaveLength(1);
		expect(download.failures).toEqual([]);
	});

	it('a hedge whose chunk the request left behind completed is superseded; the run reads on, no fault counted', async () => {
		const set = setUp({ run: [0, 1], size: 20 });
		const { download, run, done, opened } = set;
		const quietBody = feed();
		const hedgeBody = feed();
		download.answers.push(answer206(0, 19, 20, quietBody), answer206(5, 19, 20, hedgeBody));
		serveWhole(download, 20);
		new RangeRequest(download, run).start();
		await settle();
		quietBody.push(bytesAt(0, 5));
		await settle();
		(download.requests.slotRequest(run[0] as Chunk)?.detach as () => void)();
		await settle();
		hedgeBody.push(bytesAt(5, 2));
		await settle();
		// The request left behind completes chunk 0 and goes on into chunk 1, which the next request completes.
		quietBody.push(bytesAt(5, 6));
		await until(done);
		const [quiet, hedge, next] = (await opened()).map((request) => request.request);
		expect([quiet?.state, hedge?.state, next?.state]).toEqual(['done', 'superseded', 'done']);
		expect([hedge?.hedge, next?.hedge]).toEqual([true, false]);
		expect(ranges(download)).toEqual(['bytes=0-19', 'bytes=5-19', 'bytes=11-19']);
		expect([download.retried, download.failures]).toEqual([[], []]);
		expect(run.flatMap((chunk) => takeAll(download, chunk).bytes)).toEqual([...bytesAt(0, 20)]);
	});

	it('a request left behind gives its place back once, whichever turn its slot leaves it behind on, as it fails or completes', async () => {
		for (const ending of ['fails', 'completes'] as const) {
			for (let turns = 0; turns < 12; turns++) {
				const { download, run, body, slotRequest, done } = await quiet();
				serveWhole(download, 30);
				let left = 0;
				const leave = (): void => {
					if (left++ < turns) queueMicrotask(leave);
					else slotRequest.detach?.();
				};
				if (ending === 'fails') {
					body.fail(new TypeError('terminated'));
				} else {
					body.push(bytesAt(5, 25));
					body.end();
				}
				leave();
				await until(done);
				await until(() => download.slots.idle);
				expect([download.slots.detached, download.slots.running]).toEqual([0, 0]);
				expect(run.every((chunk) => chunk.done)).toBe(true);
			}
		}
	});

	it('a request left behind that completes its run ends as done', async () => {
		const { download, run, done, body, slotRequest } = await quiet();
		// The hedge waits for its answer; the one left behind delivers meanwhile.
		download.answers.push(() => new Promise<Response>(() => {}));
		(slotRequest.detach as () => void)();
		await settle();
		body.push(bytesAt(5, 25));
		body.end();
		await until(() => download.endedPlaces.includes('detached'));
		expect(slotRequest.state).toBe('done');
		expect(run.every((chunk) => chunk.done)).toBe(true);
		expect(done()).toBe(false);
	});

	it('a request left behind that fails fatally fails the download while its run misses bytes; not for a retryable fault, nor once its run is complete', async () => {
		const fatal = new RevisionChangedError('412');
		const byOthers = (chunks: Chunk[]): void => {
			for (const chunk of chunks) chunk.accept(chunk.start, bytesAt(chunk.start, 10), 0, new AbortController());
		};
		for (const [fault, before, state, fails] of [
			[fatal, () => {}, 'failed', true],
			[new TypeError('terminated'), () => {}, 'failed', false],
			// Only the run's last chunk complete: its first ones still miss bytes.
			[fatal, (run: Chunk[], _body: Feed) => byOthers(run.slice(2)), 'failed', true],
			[fatal, (run: Chunk[], _body: Feed) => byOthers(run), 'done', false],
			// It completed its run itself, then its body failed.
			[fatal, (_run: Chunk[], body: Feed) => body.push(bytesAt(5, 25)), 'failed', false],
		] as const) {
			const { download, run, body, slotRequest } = await quiet();
			download.answers.push(() => new Promise<Response>(() => {}));
			(slotRequest.detach as () => void)();
			await settle();
			before(run, body);
			await settle();
			body.fail(fault);
			await until(() => download.endedPlaces.includes('detached'));
			expect(slotRequest.state).toBe(state);
			expect(download.failures).toEqual(fails ? [fault] : []);
		}
	});

	it('a request left behind that fails once the download ended fails nothing more', async () => {
		const { download, body, slotRequest } = await quiet();
		download.answers.push(() => new Promise<Response>(() => {}));
		(slotRequest.detach as () => void)();
		await settle();
		download.settled = true;
		body.fail(new RevisionChangedError('412'));
		await until(() => download.endedPlaces.includes('detached'));
		expect([slotRequest.state, download.failures]).toEqual(['failed', []]);
	});

	it('a quiet request asked for again at once ends as aborted; the slot asks again on a hedge, with no retry counted', async () => {
		const { download, done, slotRequest, opened } = await quiet();
		serveWhole(download, 30);
		slotRequest.controller.abort(RESTART);
		await until(done);
		const [restarted, hedge] = (await opened()).map((request) => request.request);
		expect(restarted?.state).toBe('aborted');
		expect(restarted?.detach).toBeUndefined();
		expect(hedge?.hedge).toBe(true);
		expect(download.retried).toEqual([]);
		expect(ranges(download)).toEqual(['bytes=0-29', 'bytes=5-29']);
		expect(download.slots.detached).toBe(0);
	});

	it('a request that fails is marked failed, and the next one is no hedge', async () => {
		const { download, done, body, slotRequest, opened } = await quiet();
		serveWhole(download, 30);
		body.fail(new TypeError('terminated'));
		await until(done);
		const [failed, next] = (await opened()).map((request) => request.request);
		expect(failed).toBe(slotRequest);
		expect([failed?.state, failed?.detach, next?.hedge, next?.state]).toEqual(['failed', undefined, false, 'done']);
	});
});

describe('RangeRequest, the first round sent with discovery', () => {
	/** A run of the object's last chunk asked for before the revision is pinned; discovery's verdict given by hand. */
	function early(options: FakeOptions & { run?: [number, number] } = {}) {
		let verdict!: (pinned: boolean) => void;
		const discovered = new Promise<boolean>((resolve) => (verdict = resolve));
		const set = setUp({ pin: undefined, discovered, run: [1, 2], ...options });
		return { ...set, verdict };
	}

	it('asks unpinned and open-ended for the object\'s last range, and keeps no byte before the verdict', async () => {
		const { download, run, done, verdict } = early();
		const body = feed();
		download.answers.push(answer206(10, 29, 30, body));
		new RangeRequest(download, run).start();
		await settle();
		expect(ranges(download)).toEqual(['bytes=10-']);
		expect(download.sent[0]?.has('if-match')).toBe(false);
		body.push(bytesAt(10, 20));
		await settle();
		expect(run[0]?.received).toBe(0);
		download.facts.pin = PIN;
		verdict(true);
		body.end();
		await until(done);
		expect(run.map((chunk) => chunk.done)).toEqual([true, true]);
	});

	it('asks for a range short of the object\'s end as it is', async () => {
		const { download, run, verdict } = early({ run: [0, 1] });
		download.answers.push(answer206(0, 19, 30, feed()));
		new RangeRequest(download, run).start();
		await settle();
		verdict(false);
		expect(ranges(download)).toEqual(['bytes=0-19']);
	});

	it('gives its answer up, keeping nothing, when discovery reads the object another way or the download ended', async () => {
		for (const how of ['another way', 'ended'] as const) {
			const { download, run, done, verdict } = early();
			const body = feed();
			download.answers.push(answer206(10, 29, 30, body));
			new RangeRequest(download, run).start();
			await settle();
			if (how === 'ended') download.settled = true;
			verdict(how === 'ended');
			await until(() => download.endedPlaces.length > 0);
			expect(done()).toBe(true);
			expect([download.sent.length, download.counters.inFlight, body.cancelled.length, run[0]?.received, download.checkedAnswers.length]).toEqual([1, 0, 1, 0, 0]);
		}
	});

	it('an answer without the validator that pins is retried: no precondition guarded it', async () => {
		for (const [pin, named] of [
			[PIN, 'ETag'],
			[{ kind: 'last-modified', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT', etag: undefined }, 'Last-Modified'],
		] as const) {
			const { download, run, done, verdict } = early();
			download.answers.push(answer206(10, 29, 30, undefined, {}));
			serveWhole(download, 30, pin.kind === 'etag' ? { etag: '"v1"' } : { 'last-modified': pin.lastModified });
			new RangeRequest(download, run).start();
			await settle();
			download.facts.pin = pin;
			verdict(true);
			await until(done);
			expect(download.retried).toHaveLength(1);
			expect(download.retried[0]).toMatchObject({ retryable: true, status: 206, range: { start: 10, end: 29 } });
			expect((download.retried[0] as Error).message).toContain(`: sent before the revision was pinned, the answer carries no ${named} to compare`);
			expect(download.failures).toEqual([]);
		}
	});

	it('restarts the chunks\' clocks after the verdict, and counts no stall while it waits', async () => {
		let now = 1000;
		vi.spyOn(performance, 'now').mockImplementation(() => now);
		const { download, run, done, verdict } = early({ stallTimeout: 1 });
		const body = feed();
		download.answers.push(answer206(10, 29, 30, body));
		new RangeRequest(download, run).start();
		await settle();
		now = 9000;
		await new Promise((resolve) => setTimeout(resolve, 20));
		const [opened] = await Promise.all(vi.mocked(download.requests.open).mock.results.map((result) => result.value as Promise<Opened>));
		expect(opened?.request.controller.signal.aborted).toBe(false);
		download.facts.pin = PIN;
		verdict(true);
		await settle();
		expect(run.map((chunk) => chunk.lastProgressAt)).toEqual([9000, 9000]);
		// Counting again once the verdict came.
		now = 9005;
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(opened?.request.controller.signal.reason).toBeInstanceOf(StallError);
	});
});

describe('RangeRequest, while the code that verifies loads', () => {
	it('reads no byte until it has loaded, then checks the answer\'s digest', async () => {
		let loaded!: () => void;
		const loading = new Promise<void>((resolve) => (loaded = resolve));
		const { download, run, done } = setUp({ loading });
		const body = feed();
		download.answers.push(answer206(0, 29, 30, body));
		new RangeRequest(download, run).start();
		await settle();
		body.push(bytesAt(0, 30));
		body.end();
		await settle();
		expect([run[0]?.received, download.digestChecks.length, download.checkedAnswers.length]).toEqual([0, 0, 0]);
		loaded();
		await until(done);
		expect(download.digestChecks).toHaveLength(1);
		expect(run.every((chunk) => chunk.done)).toBe(true);
	});

	it('goes on when the loading fails: that failure is the download\'s', async () => {
		const loading = Promise.reject(new Error('no hasher'));
		loading.catch(() => {});
		const { download, run, done } = setUp({ loading });
		serveWhole(download, 30);
		new RangeRequest(download, run).start();
		await until(done);
		expect(download.failures).toEqual([]);
		expect(download.digestChecks).toHaveLength(1);
	});
});
