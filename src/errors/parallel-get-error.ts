/** Stable machine-readable codes carried by every error this library throws. */
export type ParallelGetErrorCode =
	| 'ERR_REVISION_CHANGED'
	| 'ERR_UNEXPECTED_RESPONSE'
	| 'ERR_RETRIES_EXHAUSTED'
	| 'ERR_STALLED'
	| 'ERR_BODY_TOO_LONG'
	| 'ERR_BODY_TOO_SHORT'
	| 'ERR_INTEGRITY'
	| 'ERR_NO_READABLE_STREAM';

export interface ParallelGetErrorOptions {
	url?: string;
	/** The byte range (inclusive) the failing request asked for. */
	range?: ByteRange;
	status?: number;
	/** 1-based attempt number of the request that failed. */
	attempt?: number;
	cause?: unknown;
}

/** An inclusive byte range, as in `Range: bytes=start-end`. */
export interface ByteRange {
	start: number;
	end: number;
}

/**
 * Base class of every error raised by this library. `code` is stable across versions; compare it
 * (or use the `isX()` guards) rather than `instanceof` alone, which fails when two copies of the
 * package meet.
 */
export class ParallelGetError extends Error {
	override name = 'ParallelGetError';
	readonly code: ParallelGetErrorCode;
	readonly url: string | undefined;
	readonly range: ByteRange | undefined;
	readonly status: number | undefined;
	readonly attempt: number | undefined;

	constructor(code: ParallelGetErrorCode, message: string, options: ParallelGetErrorOptions = {}) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.code = code;
		this.url = options.url;
		this.range = options.range;
		this.status = options.status;
		this.attempt = options.attempt;
	}
}

const names = new Set(['ParallelGetError', 'RevisionChangedError', 'UnexpectedResponseError', 'RetriesExhaustedError', 'StallError', 'IntegrityError']);

/** True for any error raised by this library, even from another copy of the package. */
export function isParallelGetError(error: unknown): error is ParallelGetError {
	if (error instanceof ParallelGetError) return true;
	if (!(error instanceof Error)) return false;
	const { name, code } = error as Error & { code?: unknown };
	return names.has(name) && typeof code === 'string';
}

export function formatRange(range: ByteRange | undefined): string {
	return range === undefined ? '' : ` (bytes ${range.start}-${range.end})`;
}
