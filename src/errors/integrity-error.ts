import { ParallelGetError, type ParallelGetErrorOptions } from './parallel-get-error.ts';

/**
 * The bytes do not match the digest they were to have: the caller's `integrity`, or a digest of
 * the whole object that the server declared (`Repr-Digest`, `x-goog-hash`, ...). The stream errors
 * with it instead of closing, before its last bytes are handed out, so that no consumer sees a
 * clean end of wrong bytes. `expected` and `actual` are written as the expectation was
 * (base64, or hex for `sha256:<hex>`).
 */
export class IntegrityError extends ParallelGetError {
	override name = 'IntegrityError';
	/** `sha256`, `sha384`, `sha512`, `md5`, `crc32c` or `crc64nvme`. */
	readonly algorithm: string;
	readonly expected: string;
	readonly actual: string;
	/** Where the expected digest came from: `integrity` (the option) or the response header's name. */
	readonly source: string;

	constructor(options: ParallelGetErrorOptions & { algorithm: string; expected: string; actual: string; source: string }) {
		super(
			'ERR_INTEGRITY',
			`The ${options.algorithm} of the bytes of ${options.url ?? 'the object'} is ${options.actual}, not ${options.expected} (from ${options.source})`,
			options,
		);
		this.algorithm = options.algorithm;
		this.expected = options.expected;
		this.actual = options.actual;
		this.source = options.source;
	}
}

export function isIntegrityError(error: unknown): error is IntegrityError {
	return error instanceof IntegrityError || (error as Error | undefined)?.name === 'IntegrityError';
}
