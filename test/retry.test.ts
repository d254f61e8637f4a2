import { describe, expect, it } from 'vitest';
import { RevisionChangedError } from '../src/errors/revision-changed-error.ts';
import { StallError } from '../src/errors/stall-error.ts';
import { UnexpectedResponseError } from '../src/errors/unexpected-response-error.ts';
import { Chunk } from '../src/core/chunk.ts';
import type { Download } from '../src/core/download.ts';
import { backoff, isRetryable, retrying } from '../src/core/retry.ts';
import { RetriesExhaustedError } from '../src/errors/retries-exhausted-error.ts';

const retry = { limit: 5, delay: (attempt: number) => 100 * 2 ** (attempt - 1), backoffLimit: 1000, maxRetryAfter: 5000, jitter: false };

describe('retry policy', () => {
	it('isRetryable - network faults, stalls and retryable responses; never our own fatal verdicts', () => {
		expect(isRetryable(new TypeError('fetch failed'))).toBe(true);
		expect(isRetryable(new StallError(10))).toBe(true);
		expect(isRetryable(new UnexpectedResponseError('503', { status: 503, retryable: true }))).toBe(true);
		expect(isRetryable(new UnexpectedResponseError('404', { status: 404 }))).toBe(false);
		expect(isRetryable(new RevisionChangedError('412'))).toBe(false);
	});

	it('backoff - exponential up to backoffLimit; Retry-After instead when sent, up to maxRetryAfter', () => {
		expect([1, 2, 3, 4, 5].map((attempt) => backoff(retry, attempt, new TypeError('reset')))).toEqual([100, 200, 400, 800, 1000]);
		expect(backoff(retry, 1, new UnexpectedResponseError('429', { status: 429, retryable: true, retryAfter: 3000 }))).toBe(3000);
		expect(backoff(retry, 1, new UnexpectedResponseError('429', { status: 429, retryable: true, retryAfter: 60_000 }))).toBe(5000);
	});

	it('backoff - jitter takes between half and all of the delay', () => {
		const jittered = { ...retry, jitter: true };
		expect(backoff(jittered, 3, undefined, () => 0)).toBe(200);
		expect(backoff(jittered, 3, undefined, () => 1)).toBe(400);
	});
});

/**
 * A download as `retrying` sees it: the retry policy (no wait, the attempts it was asked to wait
 * for recorded), the facts for the CORS hint, the retries counter, and whether it ended.
 */
function fakeDownload({ limit = 2, crossOrigin = false, pinned = true } = {}) {
	const waits: number[] = [];
	const download = {
		url: 'http://127.0.0.1/object.bin',
		options: { retry: { ...retry, limit, jitter: false, delay: (attempt: number) => (waits.push(attempt), 0) } },
		facts: { crossOrigin, pin: pinned ? { kind: 'etag', etag: '"v1"', lastModified: undefined } : undefined, totalFromCaller: false },
		counters: { retries: 0 },
		settled: false,
		signal: new AbortController().signal,
		failures: [] as unknown[],
		failed(error: unknown) {
			this.failures.push(error);
		},
	};
	return { download: download as unknown as Download, waits, counters: download.counters, end: () => void (download.settled = true) };
}

/** A chunk of `length` bytes from `start` with `received` of them in. */
function chunk(start: number, length: number, received = 0): Chunk {
	const made = new Chunk(0, start, start + length - 1, 0);
	made.received = received;
	return made;
}

/** An attempt that fails with each of `errors` in turn (or runs `step` first), then succeeds. */
function attempts(errors: unknown[], step: (index: number) => void = () => {}) {
	let index = 0;
	const attempt = async () => {
		step(index);
		const error = errors[index++];
		if (error === undefined) return true;
		throw error;
	};
	return { attempt, made: () => index };
}

describe('retrying', () => {
	const reset = new TypeError('fetch failed');

	it('retries a network fault until the attempt succeeds, counting each retry and waiting the backoff of each attempt number', async () => {
		const { download, waits, counters } = fakeDownload({ limit: 2 });
		const { attempt, made } = attempts([reset, reset]);
		await retrying(download, { start: 0, end: 9 }, () => 0, attempt);
		expect(made()).toBe(3);
		expect(counters.retries).toBe(2);
		expect(waits).toEqual([1, 2]);
	});

	it('gives up after `limit` retries without progress: RetriesExhaustedError with the attempts, the range and the last fault', async () => {
		const { download, counters } = fakeDownload({ limit: 2 });
		const last = new TypeError('the third');
		const { attempt, made } = attempts([reset, reset, last, reset]);
		const error = await retrying(download, { start: 5, end: 9 }, () => 0, attempt).catch((thrown: unknown) => thrown);
		expect(error).toBeInstanceOf(RetriesExhaustedError);
		expect(error).toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED', attempts: 3, attempt: 3, range: { start: 5, end: 9 }, cause: last, url: download.url });
		expect((error as Error).message).not.toContain('cross-origin');
		expect(made()).toBe(3);
		expect(counters.retries).toBe(2);
	});

	it('restarts the count after an attempt that brought bytes', async () => {
		const { download, waits } = fakeDownload({ limit: 2 });
		let received = 0;
		// Attempts 1 and 2 fail with nothing; attempt 3 brings bytes before failing (without the
		// restart it would be the third failure in a row, one more than `limit`); 4 fails with
		// nothing; 5 succeeds.
		const { attempt, made } = attempts([reset, reset, reset, reset], (index) => {
			if (index === 2) received += 10;
		});
		await retrying(download, { start: 0, end: 99 }, () => received, attempt);
		expect(made()).toBe(5);
		// The failure of attempt 3 counts as the first again: waits for attempt numbers 1, 2, then 1, 2.
		expect(waits).toEqual([1, 2, 1, 2]);
	});

	it('rethrows a fault that is not worth another try at once, uncounted', async () => {
		const { download, counters } = fakeDownload();
		const fatal = new RevisionChangedError('412');
		const { attempt, made } = attempts([fatal]);
		await expect(retrying(download, undefined, () => 0, attempt)).rejects.toBe(fatal);
		expect(made()).toBe(1);
		expect(counters.retries).toBe(0);
	});

	it('lets a failure go once the download has ended, or once another request completed the run', async () => {
		const ended = fakeDownload();
		const { attempt, made } = attempts([new RevisionChangedError('412')], () => ended.end());
		await expect(retrying(ended.download, undefined, () => 0, attempt)).resolves.toBeUndefined();
		expect(made()).toBe(1);

		const other = fakeDownload();
		const run = [chunk(0, 10, 10), chunk(10, 10, 3)];
		run[0]!.done = true;
		const completes = attempts([reset], () => void (run[1]!.done = true));
		await expect(retrying(other.download, run, () => 0, completes.attempt)).resolves.toBeUndefined();
		expect(completes.made()).toBe(1);
		expect(other.counters.retries).toBe(0);
	});

	it('a run gives up with the range it still misses: from the first missing byte of its first chunk not done', async () => {
		const { download } = fakeDownload({ limit: 0 });
		const run = [chunk(0, 10, 10), chunk(10, 10, 3), chunk(20, 10)];
		run[0]!.done = true;
		const error = await retrying(download, run, () => 0, attempts([reset]).attempt).catch((thrown: unknown) => thrown);
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 1, range: { start: 13, end: 29 } });
	});

	it('a network fault cross-origin on a pinned download names the CORS headers to check; not for a status, nor unpinned', async () => {
		const hint = 'cross-origin: check that the server allows If-Match and If-Unmodified-Since in Access-Control-Allow-Headers';
		const give = async (options: Parameters<typeof fakeDownload>[0], error: unknown) => {
			const { download } = fakeDownload({ limit: 0, ...options });
			return (await retrying(download, undefined, () => 0, attempts([error]).attempt).catch((thrown: unknown) => thrown)) as Error;
		};
		expect((await give({ crossOrigin: true }, reset)).message).toContain(hint);
		expect((await give({ crossOrigin: false }, reset)).message).not.toContain('cross-origin');
		expect((await give({ crossOrigin: true, pinned: false }, reset)).message).not.toContain('cross-origin');
		const status = new UnexpectedResponseError('503', { status: 503, retryable: true });
		expect((await give({ crossOrigin: true }, status)).message).not.toContain('cross-origin');
	});
});
