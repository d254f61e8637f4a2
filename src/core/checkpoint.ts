import { isStrongEtag, type Pin } from '../http/validators.ts';

/**
 * Where a download stopped, to continue it later (issue 15): a plain object that survives
 * `JSON.stringify`, taken with `download.checkpoint()` and given back as the `resume` option.
 * Everything before `offset` was handed out in order and is final; the rest is asked for pinned
 * to the same revision, so that bytes of two revisions are never spliced together.
 *
 * @example
 * ```ts
 * localStorage.setItem('big.iso', JSON.stringify(download.checkpoint()));
 * // ... after a reload:
 * const resume = JSON.parse(localStorage.getItem('big.iso'));
 * const rest = new ParallelGetStream(url, { resume }); // yields bytes `resume.offset` to the end
 * ```
 */
export interface Checkpoint {
	/** The URL the download was made from (for the caller's bookkeeping: the resumed download uses its own input, e.g. a renewed signed URL). */
	url: string;
	/** Bytes of the object handed out so far, in order: the resumed download starts here. */
	offset: number;
	/** Bytes in the object. */
	size: number;
	/**
	 * The strong ETag the download is pinned to (sent as `If-Match`). Exactly one of `etag` and
	 * `lastModified` is set by `checkpoint()`; given both, `etag` pins.
	 */
	etag?: string;
	/** The Last-Modified date the download is pinned to when there is no strong ETag (sent as `If-Unmodified-Since`). */
	lastModified?: string;
	/**
	 * Reserved for the state of a digest being verified, so that a resumed download still
	 * verifies the whole object. It must describe exactly the bytes before `offset`. Not set yet.
	 */
	hash?: unknown;
}

/** A pin that a later request can send: a strong ETag, or a strong Last-Modified. */
export type StrongPin = Exclude<Pin, { kind: 'none' }>;

/** A checkpoint once validated: the revision it pins, as the requests send it. */
export interface ResumePoint {
	readonly offset: number;
	readonly size: number;
	readonly pin: StrongPin;
	readonly hash: unknown;
}

function describe(value: unknown): string {
	if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
	if (value === null) return '`null`';
	if (typeof value === 'object') return `\`${Object.prototype.toString.call(value)}\` (object)`;
	return `\`${String(value)}\` (${typeof value})`;
}

function position(name: string, value: unknown): number {
	if (typeof value !== 'number' || !Number.isInteger(value)) {
		throw new TypeError(`Expected \`resume.${name}\` to be an integer >= 0, got ${describe(value)}`);
	}
	if (value < 0 || value > Number.MAX_SAFE_INTEGER) throw new RangeError(`Expected \`resume.${name}\` to be an integer >= 0, got ${describe(value)}`);
	return value;
}

/**
 * Validates a checkpoint given as `resume` (it may come from a file or storage, so nothing about
 * it is trusted): a `TypeError` for a wrong shape or no usable validator, a `RangeError` for an
 * offset beyond the size, like every other option. `size`, when given too, must agree.
 */
export function normalizeResume(value: unknown, size: number | undefined): ResumePoint | undefined {
	if (value === undefined) return undefined;
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new TypeError(`Expected \`resume\` to be a checkpoint object ({ url, offset, size, etag | lastModified }), got ${describe(value)}`);
	}
	const checkpoint = value as Record<string, unknown>;
	if (checkpoint.url !== undefined && typeof checkpoint.url !== 'string') throw new TypeError(`Expected \`resume.url\` to be a string, got ${describe(checkpoint.url)}`);
	const offset = position('offset', checkpoint.offset);
	const total = position('size', checkpoint.size);
	if (offset > total) throw new RangeError(`Expected \`resume.offset\` to be at most \`resume.size\` (${total}), got ${describe(offset)}`);
	if (size !== undefined && size !== total) throw new RangeError(`Expected \`size\` to be the checkpoint's (${total}), got ${describe(size)}`);
	const { etag, lastModified } = checkpoint;
	let pin: StrongPin;
	if (etag !== undefined) {
		// RFC 9110 §13.1.1: If-Match compares strongly, so a weak ETag could never match.
		if (!isStrongEtag(etag as string | undefined)) throw new TypeError(`Expected \`resume.etag\` to be a strong ETag ("..."), got ${describe(etag)}`);
		pin = { kind: 'etag', etag: (etag as string).trim(), lastModified: undefined };
	} else if (lastModified !== undefined) {
		if (typeof lastModified !== 'string' || Number.isNaN(Date.parse(lastModified))) {
			throw new TypeError(`Expected \`resume.lastModified\` to be an HTTP date, got ${describe(lastModified)}`);
		}
		pin = { kind: 'last-modified', lastModified, etag: undefined };
	} else {
		throw new TypeError('Expected `resume` to carry the validator it is pinned to (`etag` or `lastModified`), got neither: without one the rest could come from another revision');
	}
	return { offset, size: total, pin, hash: checkpoint.hash };
}

/** The checkpoint of a download pinned to `pin`, `offset` bytes of `size` handed out. */
export function checkpointOf(url: string, offset: number, size: number, pin: StrongPin): Checkpoint {
	return pin.kind === 'etag' ? { url, offset, size, etag: pin.etag } : { url, offset, size, lastModified: pin.lastModified };
}

/** What a checkpoint of a download pinned to `pin` would pin: undefined without a strong validator. */
export function resumable(pin: Pin, size: number): { pin: StrongPin; size: number } | undefined {
	return pin.kind === 'none' ? undefined : { pin, size };
}
