import { formatRange, ParallelGetError, type ParallelGetErrorOptions } from './parallel-get-error.ts';

/**
 * A response that is not what was asked for: an error status (404, 403, ...), a 206 whose
 * `Content-Range` does not match the request, a body longer than its range, an encoded (gzip)
 * partial body. `status` and `range` say which request and what came back.
 */
export class UnexpectedResponseError extends ParallelGetError {
	override name = 'UnexpectedResponseError';
	/** The `Content-Range` the server sent, if any and readable. */
	readonly contentRange: string | undefined;
	/** A transient fault (5xx, 429, a short body, a replica that served another range): worth another try. */
	readonly retryable: boolean;
	/** The server's `Retry-After`, in ms, where it sent one. */
	readonly retryAfter: number | undefined;

	constructor(
		reason: string,
		options: ParallelGetErrorOptions & {
			contentRange?: string;
			code?: 'ERR_UNEXPECTED_RESPONSE' | 'ERR_BODY_TOO_LONG' | 'ERR_BODY_TOO_SHORT';
			retryable?: boolean;
			retryAfter?: number;
		} = {},
	) {
		const status = options.status === undefined ? '' : ` [HTTP ${options.status}]`;
		super(
			options.code ?? 'ERR_UNEXPECTED_RESPONSE',
			`Unexpected response${status} from ${options.url ?? 'the server'}${formatRange(options.range)}: ${reason}`,
			options,
		);
		this.contentRange = options.contentRange;
		this.retryable = options.retryable ?? false;
		this.retryAfter = options.retryAfter;
	}
}

export function isUnexpectedResponseError(error: unknown): error is UnexpectedResponseError {
	return error instanceof UnexpectedResponseError || (error as Error | undefined)?.name === 'UnexpectedResponseError';
}
