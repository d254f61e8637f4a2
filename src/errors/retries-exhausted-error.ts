import { formatRange, ParallelGetError, type ParallelGetErrorOptions } from './parallel-get-error.ts';

/**
 * A chunk failed with transient faults (network errors, resets, 408/429/5xx, stalls, short bodies)
 * more times in a row than `retry.limit` allows. The last failure is the `cause`.
 */
export class RetriesExhaustedError extends ParallelGetError {
	override name = 'RetriesExhaustedError';
	/** Attempts made for the failing chunk without progress, the first included. */
	readonly attempts: number;

	constructor(attempts: number, options: ParallelGetErrorOptions & { hint?: string } = {}) {
		const last = `${options.cause instanceof Error ? `: ${options.cause.message}` : ''}${options.hint ? ` (${options.hint})` : ''}`;
		super(
			'ERR_RETRIES_EXHAUSTED',
			`Gave up after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}${formatRange(options.range)}${last}`,
			{ ...options, attempt: attempts },
		);
		this.attempts = attempts;
	}
}

export function isRetriesExhaustedError(error: unknown): error is RetriesExhaustedError {
	return error instanceof RetriesExhaustedError || (error as Error | undefined)?.name === 'RetriesExhaustedError';
}
