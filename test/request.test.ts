import { afterEach, describe, expect, it, vi } from 'vitest';
import { discard, RESTART, type Tracked } from '../src/core/request.ts';
import { StallError } from '../src/errors/stall-error.ts';
import { fakeDownload, feed, partial, settle, URL } from './support/fake-download.ts';

afterEach(() => {
	vi.useRealTimers();
	vi.restoreAllMocks();
});

/** A download whose requests the test answers by hand: `answer()` resolves the oldest one waiting. */
function byHand(options: Parameters<typeof fakeDownload>[0] = {}) {
	const download = fakeDownload({ size: 100, ...options });
	const waiting: ((response: Response) => void)[] = [];
	const signals: AbortSignal[] = [];
	const queue = (): void => {
		download.answers.push(
			(_headers, signal) =>
				new Promise<Response>((resolve, reject) => {
					signals.push(signal);
					waiting.push(resolve);
					signal.addEventListener('abort', () => reject(signal.reason), { once: true });
				}),
		);
	};
	return {
		download,
		signals,
		queue,
		answer: (response: Response = partial(null)) => (waiting.shift() as (response: Response) => void)(response),
	};
}

describe('Requests.open', () => {
	it('sends the caller\'s headers with Range and the pin\'s precondition', async () => {
		const download = fakeDownload({ size: 100 });
		(download.options as { headers: HeadersInit }).headers = { authorization: 'Bearer x' };
		download.answers.push(partial(null), partial(null), partial(null));
		await download.requests.open({ start: 10, end: 19 }, { kind: 'etag', etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' }, undefined);
		await download.requests.open({ start: 90, end: 99 }, { kind: 'last-modified', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT', etag: undefined }, undefined, true);
		await download.requests.open(undefined, undefined, undefined);
		expect(download.sent.map((headers) => Object.fromEntries(headers))).toEqual([
			{ authorization: 'Bearer x', range: 'bytes=10-19', 'if-match': '"v1"' },
			{ authorization: 'Bearer x', range: 'bytes=90-', 'if-unmodified-since': 'Tue, 01 Dec 2026 10:00:00 GMT' },
			{ authorization: 'Bearer x' },
		]);
	});

	it('says where the body starts and what it was asked for', async () => {
		const download = fakeDownload({ size: 100 });
		download.answers.push(partial(null), partial(null));
		const ranged = await download.requests.open({ start: 10, end: 19 }, undefined, undefined);
		const whole = await download.requests.open(undefined, undefined, undefined);
		expect([ranged.offset, ranged.end, whole.offset, whole.end]).toEqual([10, 19, 0, Number.POSITIVE_INFINITY]);
	});

	it('sends nothing once the download has ended', async () => {
		const download = fakeDownload({ size: 100 });
		const reason = new Error('cancelled');
		download.fail(reason);
		await expect(download.requests.open({ start: 0, end: 9 }, undefined, undefined)).rejects.toBe(reason);
		expect(download.sent).toHaveLength(0);
		expect(download.counters.requests).toBe(0);
	});

	it('counts a request in flight from its sending to its release, and as transferring from its answer on; once each', async () => {
		const { download, queue, answer } = byHand();
		const states: Tracked[] = [];
		queue();
		queue();
		const first = download.requests.open({ start: 0, end: 9 }, undefined, undefined, false, (request) => states.push(request));
		const second = download.requests.open({ start: 10, end: 19 }, undefined, undefined, false, (request) => states.push(request));
		await settle();
		const { counters } = download;
		expect([counters.requests, counters.inFlight, counters.maxInFlight, counters.transferring]).toEqual([2, 2, 2, 0]);
		expect(states.map((request) => request.state)).toEqual(['waiting', 'waiting']);
		answer();
		const opened = await first;
		expect(opened.request).toBe(states[0]);
		expect(opened.request.state).toBe('reading');
		expect([counters.inFlight, counters.transferring, counters.maxTransferring]).toEqual([2, 1, 1]);
		opened.release();
		opened.release();
		expect([counters.inFlight, counters.maxInFlight, counters.transferring, counters.maxTransferring]).toEqual([1, 2, 0, 1]);
		answer();
		const other = await second;
		expect([counters.inFlight, counters.transferring, counters.maxTransferring]).toEqual([1, 1, 1]);
		other.release(true);
		expect([counters.requests, counters.inFlight, counters.transferring]).toEqual([2, 0, 0]);
	});

	it('keeps the connection of a body read to its end, and aborts any other on release', async () => {
		const download = fakeDownload({ size: 100 });
		download.answers.push(partial(null), partial(null));
		const complete = await download.requests.open({ start: 0, end: 9 }, undefined, undefined);
		const broken = await download.requests.open({ start: 10, end: 19 }, undefined, undefined);
		complete.release(true);
		broken.release();
		expect([complete.request.controller.signal.aborted, broken.request.controller.signal.aborted]).toEqual([false, true]);
	});

	it('a request left behind while it waited for its answer stays behind', async () => {
		const { download, queue, answer } = byHand();
		queue();
		const opening = download.requests.open({ start: 0, end: 9 }, undefined, undefined, false, (request) => {
			request.state = 'detached';
		});
		await settle();
		answer();
		expect((await opening).request.state).toBe('detached');
	});

	it('feeds the chunk it is for, from its sending to its release, and restarts the chunk\'s clock', async () => {
		let now = 1000;
		vi.spyOn(performance, 'now').mockImplementation(() => now);
		const download = fakeDownload({ size: 100 });
		const chunk = download.plan.addChunk(0);
		now = 2000;
		download.answers.push(partial(null));
		const opened = await download.requests.open({ start: 0, end: 9 }, undefined, chunk);
		expect([...chunk.requests]).toEqual([opened.request.controller]);
		expect(chunk.lastProgressAt).toBe(2000);
		opened.release();
		expect(chunk.requests.size).toBe(0);
	});

	it('smooths the time to first byte over the requests: the first as it is, then a fifth of each new one', async () => {
		let now = 0;
		vi.spyOn(performance, 'now').mockImplementation(() => now);
		const download = fakeDownload({ size: 100 });
		expect(download.requests.ttfb).toBeUndefined();
		for (const wait of [100, 200]) {
			download.answers.push(() => {
				now += wait;
				return partial(null);
			});
			(await download.requests.open({ start: 0, end: 9 }, undefined, undefined)).release();
		}
		expect(download.requests.ttfb).toBeCloseTo(120, 9);
	});

	it('a request that fails before its answer is released and fails with the fault', async () => {
		const download = fakeDownload({ size: 100 });
		const chunk = download.plan.addChunk(0);
		const reset = new TypeError('fetch failed');
		download.answers.push(reset);
		await expect(download.requests.open({ start: 0, end: 9 }, undefined, chunk)).rejects.toBe(reset);
		expect([download.counters.inFlight, download.counters.transferring, chunk.requests.size]).toEqual([0, 0, 0]);
	});
});

describe('Requests, the stall watchdog', () => {
	it('aborts a request whose answer does not come within stallTimeout with a StallError, which it fails with', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		const { download, queue } = byHand({ stallTimeout: 1000 });
		queue();
		let outcome: unknown;
		download.requests.open({ start: 20, end: 29 }, undefined, undefined).catch((error: unknown) => void (outcome = error));
		await settle();
		vi.advanceTimersByTime(999);
		await settle();
		expect(outcome).toBeUndefined();
		vi.advanceTimersByTime(1);
		await settle();
		expect(outcome).toBeInstanceOf(StallError);
		expect(outcome).toMatchObject({ timeout: 1000, url: URL, range: { start: 20, end: 29 } });
		expect(download.counters.inFlight).toBe(0);
	});

	it('names no range for a request without one', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		const { download, queue } = byHand({ stallTimeout: 1000 });
		queue();
		let outcome: unknown;
		download.requests.open(undefined, undefined, undefined).catch((error: unknown) => void (outcome = error));
		await settle();
		vi.advanceTimersByTime(1000);
		await settle();
		expect(outcome).toBeInstanceOf(StallError);
		expect((outcome as StallError).range).toBeUndefined();
	});

	it('counts the stall time of the body from the answer on', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		const { download, queue, answer } = byHand({ stallTimeout: 1000 });
		queue();
		const opening = download.requests.open({ start: 0, end: 9 }, undefined, undefined);
		await settle();
		vi.advanceTimersByTime(900);
		answer(partial(feed().stream));
		const opened = await opening;
		vi.advanceTimersByTime(900);
		expect(opened.request.controller.signal.aborted).toBe(false);
		vi.advanceTimersByTime(100);
		expect(opened.request.controller.signal.reason).toBeInstanceOf(StallError);
	});

	it('stops watching once the request is released', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		const download = fakeDownload({ size: 100, stallTimeout: 1000 });
		download.answers.push(partial(feed().stream));
		const opened = await download.requests.open({ start: 0, end: 9 }, undefined, undefined);
		opened.release(true);
		vi.advanceTimersByTime(5000);
		expect(opened.request.controller.signal.aborted).toBe(false);
	});
});

describe('Requests.reason', () => {
	it('a stall or a restart rather than the AbortError it surfaced as; the download\'s reason once it ended', () => {
		const download = fakeDownload({ size: 100 });
		const error = new DOMException('aborted', 'AbortError');
		const stalled = new AbortController();
		stalled.abort(new StallError(1000));
		const restarted = new AbortController();
		restarted.abort(RESTART);
		const other = new AbortController();
		other.abort(new Error('superseded'));
		expect(download.requests.reason(error, stalled)).toBe(stalled.signal.reason);
		expect(download.requests.reason(error, restarted)).toBe(RESTART);
		expect(download.requests.reason(error, other)).toBe(error);
		expect(download.requests.reason(error, new AbortController())).toBe(error);
		const cancelled = new Error('cancelled');
		download.fail(cancelled);
		expect(download.requests.reason(error, stalled)).toBe(cancelled);
	});
});

describe('Requests.slotRequest', () => {
	it('finds the request a slot reads for a chunk, not one left behind, and none once released', async () => {
		const download = fakeDownload({ size: 100 });
		const chunk = download.plan.addChunk(0);
		download.answers.push(partial(null), partial(null));
		const behind = await download.requests.open({ start: 0, end: 9 }, undefined, chunk);
		const read = await download.requests.open({ start: 0, end: 9 }, undefined, chunk, false, (request) => {
			request.detach = () => {};
		});
		expect(download.requests.slotRequest(chunk)).toBe(read.request);
		expect(behind.request.detach).toBeUndefined();
		read.release();
		expect(download.requests.slotRequest(chunk)).toBeUndefined();
		// Still feeding the chunk, but unknown to the requests once released.
		chunk.requests.add(read.request.controller);
		expect(download.requests.slotRequest(chunk)).toBeUndefined();
	});
});

describe('Requests.abortAll', () => {
	it('aborts every request in flight with the reason, and none released before', async () => {
		const download = fakeDownload({ size: 100 });
		download.answers.push(partial(null), partial(null), partial(null));
		const released = await download.requests.open({ start: 0, end: 9 }, undefined, undefined);
		const first = await download.requests.open({ start: 10, end: 19 }, undefined, undefined);
		const second = await download.requests.open({ start: 20, end: 29 }, undefined, undefined);
		released.release(true);
		const reason = new Error('cancelled');
		download.requests.abortAll(reason);
		expect([first.request.controller.signal.reason, second.request.controller.signal.reason]).toEqual([reason, reason]);
		expect(released.request.controller.signal.aborted).toBe(false);
	});
});

describe('discard', () => {
	it('releases the response and cancels its body', async () => {
		const download = fakeDownload({ size: 100 });
		const body = feed();
		download.answers.push(partial(body.stream));
		const opened = await download.requests.open({ start: 0, end: 9 }, undefined, undefined);
		discard(opened);
		await settle();
		expect(download.counters.inFlight).toBe(0);
		expect(body.cancelled).toHaveLength(1);
		expect(opened.request.controller.signal.aborted).toBe(true);
	});
});
