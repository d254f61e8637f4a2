import { type ByteRange, isParallelGetError } from '../errors/parallel-get-error.ts';
import { RetriesExhaustedError } from '../errors/retries-exhausted-error.ts';
import { StallError } from '../errors/stall-error.ts';
import { UnexpectedResponseError } from '../errors/unexpected-response-error.ts';
import { delay } from '../utils/abort.ts';
import type { Chunk } from './chunk.ts';
import type { Download } from './download.ts';
import type { NormalizedOptions } from './options.ts';
import { remaining } from './plan.ts';

/**
 * The retry policy: which faults are worth another try, how long to wait first, and when to give
 * up. Transient faults (network errors, resets, stalls, 408/429/5xx, short bodies) are retried
 * with exponential backoff and jitter, or after the server's Retry-After; the count restarts when
 * an attempt made progress.
 */

export function isRetryable(error: unknown): boolean {
	if (error instanceof StallError) return true;
	if (error instanceof UnexpectedResponseError) return error.retryable;
	// Our own fatal verdicts; anything else (fetch's TypeError, a reset, ky's NetworkError or
	// TimeoutError) is a fault of the network and worth another try.
	return !isParallelGetError(error);
}

/** Ms to wait before retry number `attempt` (from 1): Retry-After if the server sent one, capped. */
export function backoff(retry: NormalizedOptions['retry'], attempt: number, error: unknown, random: () => number = Math.random): number {
	const retryAfter = error instanceof UnexpectedResponseError ? error.retryAfter : undefined;
	if (retryAfter !== undefined) return Math.min(retryAfter, retry.maxRetryAfter);
	const computed = Math.min(retry.delay(attempt), retry.backoffLimit);
	return retry.jitter ? computed * (0.5 + random() / 2) : computed;
}

/**
 * Runs `attempt` until it reports done, for a run of chunks (whose first byte missing is where
 * each retry starts), a range, or the whole object (undefined). A failure no longer counts once
 * the download has ended or another request completed the run.
 */
export async function retrying(
	download: Download,
	target: readonly Chunk[] | ByteRange | undefined,
	progress: () => number,
	attempt: () => Promise<boolean>,
): Promise<void> {
	const run = Array.isArray(target) ? (target as readonly Chunk[]) : undefined;
	const { retry } = download.options;
	let failures = 0;
	for (;;) {
		const before = progress();
		try {
			if (await attempt()) return;
		} catch (error) {
			if (download.settled || run?.every((chunk) => chunk.done)) return;
			if (!isRetryable(error)) throw error;
			download.failed(error);
			failures = progress() > before ? 1 : failures + 1;
			const range = run ? remaining(run) : (target as ByteRange | undefined);
			if (failures > retry.limit) {
				// A browser reports a CORS refusal (a preflight that does not allow If-Match) as a
				// plain network error; say where to look.
				const hint =
					download.facts.crossOrigin && download.facts.pin && !isParallelGetError(error)
						? 'cross-origin: check that the server allows If-Match and If-Unmodified-Since in Access-Control-Allow-Headers'
						: undefined;
				throw new RetriesExhaustedError(failures, { url: download.url, range, cause: error, ...(hint ? { hint } : {}) });
			}
			download.counters.retries++;
			await delay(backoff(retry, failures, error), download.signal);
		}
	}
}
