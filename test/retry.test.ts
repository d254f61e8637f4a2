import { describe, expect, it } from 'vitest';
import { RevisionChangedError } from '../src/errors/revision-changed-error.ts';
import { StallError } from '../src/errors/stall-error.ts';
import { UnexpectedResponseError } from '../src/errors/unexpected-response-error.ts';
import { backoff, isRetryable } from '../src/core/retry.ts';

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
