import { formatRange, ParallelGetError, type ParallelGetErrorOptions } from './parallel-get-error.ts';

/**
 * The object changed on the server during the download: a 412 to a pinned request, or a response
 * whose validator (ETag, Last-Modified) or total size differs from the one pinned at discovery.
 * Fatal: bytes of two revisions are never spliced together.
 */
export class RevisionChangedError extends ParallelGetError {
	override name = 'RevisionChangedError';
	/** The validator pinned at discovery. */
	readonly expected: string | undefined;
	/** What the failing response carried instead, where it carried anything. */
	readonly received: string | undefined;

	constructor(
		reason: string,
		options: ParallelGetErrorOptions & { expected?: string; received?: string } = {},
	) {
		super(
			'ERR_REVISION_CHANGED',
			`The object changed during the download: ${reason}${formatRange(options.range)}`,
			options,
		);
		this.expected = options.expected;
		this.received = options.received;
	}
}

export function isRevisionChangedError(error: unknown): error is RevisionChangedError {
	return error instanceof RevisionChangedError || (error as Error | undefined)?.name === 'RevisionChangedError';
}
