import { formatRange, ParallelGetError, type ParallelGetErrorOptions } from './parallel-get-error.ts';

/**
 * No byte arrived for `stallTimeout` milliseconds (headers or body). Transient: the chunk is
 * resumed on a new request; it reaches the caller only as the `cause` of a
 * `RetriesExhaustedError`.
 */
export class StallError extends ParallelGetError {
	override name = 'StallError';
	readonly timeout: number;

	constructor(timeout: number, options: ParallelGetErrorOptions = {}) {
		super('ERR_STALLED', `No data for ${timeout} ms${formatRange(options.range)}`, options);
		this.timeout = timeout;
	}
}
