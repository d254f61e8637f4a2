/**
 * What adaptive concurrency's policy (`concurrency.ts`) is fed, and the arithmetic of its
 * decisions: throughput samples, the server's answers and pushback, what a failed attempt says,
 * and what a change of level brought. Pure, like the policy.
 */

import { isParallelGetError } from '../../errors/parallel-get-error.ts';
import { UnexpectedResponseError } from '../../errors/unexpected-response-error.ts';

export interface ConcurrencyBounds {
	/** The fewest slots, and the most (already within the memory budget, see `budgetLimit`). */
	readonly min: number;
	readonly max: number;
	/**
	 * Requests that may run on top of `c` slots (overlap, hedges): a server's limit counts them
	 * too. `() => 0` when both are off.
	 */
	readonly onTop: (concurrency: number) => number;
	/**
	 * Bytes per slot that a measure spans at least, on top of its time: bytes arrive in pieces,
	 * and a measure of a few pieces per connection is off by a whole piece here or there (a slow
	 * link measured over 0.1 s can seem to have doubled). 0 when not given.
	 */
	readonly measureBytes?: number;
}

/** What was received over one interval. */
export interface ThroughputSample {
	/** When the interval ended, and its length, in ms. */
	readonly at: number;
	readonly ms: number;
	/** Bytes received over it. */
	readonly bytes: number;
	/**
	 * Every slot of the target was reading throughout. False when the window held a free slot back
	 * (the consumer sets the pace), or nothing was left to start: such an interval says nothing
	 * about the link and is not counted.
	 */
	readonly saturated: boolean;
}

/** The server pushed back: `throttled` is a 429 or 503, `reset` a connection reset or refused. */
export interface Pushback {
	readonly at: number;
	readonly kind: 'throttled' | 'reset';
	/** The server's `Retry-After`, in ms. */
	readonly retryAfter?: number | undefined;
	/**
	 * The other requests in flight when the server refused this one: what it was serving, as far
	 * as the client can tell (a server counts a request from its arrival, before it answers).
	 */
	readonly accepted: number;
}

/**
 * A range answer passed its checks while `serving` answers (itself included) were being read: the
 * server served that many at once.
 */
export interface Answer {
	readonly at: number;
	readonly serving: number;
}

/** Why the target changed, for `stats`. */
export type ConcurrencyReason = 'start' | 'grow' | 'settle' | 'probe' | 'keep' | 'revert' | 'drop' | 'throttled' | 'reset' | 'undo';

export interface Level {
	readonly concurrency: number;
	/** Bytes per ms. */
	readonly throughput: number;
}

/**
 * The pushback a failed attempt says, if any: a 429 or 503 (`throttled`, with its `Retry-After`
 * up to `maxRetryAfter`); a network error (a reset, a refused connection) or a body that ended
 * short (`reset`). A stall, another status or a verdict of this library's are not pushback.
 */
export function pushbackOf(error: unknown, at: number, accepted: number, maxRetryAfter: number): Pushback | undefined {
	if (error instanceof UnexpectedResponseError) {
		if (error.status === 429 || error.status === 503) {
			const retryAfter = error.retryAfter === undefined ? undefined : Math.min(error.retryAfter, maxRetryAfter);
			return { at, kind: 'throttled', retryAfter, accepted };
		}
		return error.code === 'ERR_BODY_TOO_SHORT' ? { at, kind: 'reset', accepted } : undefined;
	}
	return isParallelGetError(error) ? undefined : { at, kind: 'reset', accepted };
}

/** The most slots a memory budget allows: each slot needs one chunk of the window at least. */
export function budgetLimit(maxBuffer: number, chunkSize: number): number {
	return Math.max(1, Math.floor(maxBuffer / chunkSize));
}

/**
 * What each connection added from `from` to `to` brought, as a share of what one connection of
 * `from` brought on average (1: in proportion; 0: nothing). Going down, what each removed one took.
 */
export function efficiency(from: Level, to: Level): number {
	const perConnection = from.throughput / from.concurrency;
	if (perConnection <= 0 || to.concurrency === from.concurrency) return to.throughput > from.throughput ? 1 : 0;
	return (to.throughput - from.throughput) / (to.concurrency - from.concurrency) / perConnection;
}

/**
 * After a doubling that brought less than `GROW_SHARE` per connection: the connections the gain
 * paid for at the pace one had before, between the two levels.
 */
export function paidFor(from: Level, to: Level): number {
	const perConnection = from.throughput / from.concurrency;
	const gained = perConnection > 0 ? Math.ceil((to.throughput - from.throughput) / perConnection - 1e-9) : 0;
	return Math.min(to.concurrency, Math.max(from.concurrency, from.concurrency + gained));
}

/** The most slots `c` such that `c` plus what runs on top of them stays within `accepted`. */
export function fitWithin(accepted: number, onTop: (concurrency: number) => number): number {
	let c = accepted;
	while (c > 1 && c + onTop(c) > accepted) c--;
	return Math.max(1, c);
}
