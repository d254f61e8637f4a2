import { isStrongEtag, type Pin } from '../http/validators.ts';
import { type Algorithm, encode, type ExpectedDigest, fromBase64, isAlgorithm, ofLength } from '../integrity/digest.ts';
import { describeValue } from '../utils/describe-value.ts';

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
	 * The state of the digest being verified, so that a resumed download still verifies the whole
	 * object (README "Resume later"): set by `checkpoint()` when a digest is verified and its hash
	 * can save its state (hash-wasm; not the native hash of Node, Bun and Deno).
	 */
	hash?: CheckpointHash;
}

/** The hash of the bytes before a checkpoint's offset, and the digest the whole object must have. */
export interface CheckpointHash {
	/** `sha256`, `sha384`, `sha512`, `md5`, `crc32c` or `crc64nvme`. */
	algorithm: Algorithm;
	/** The digest the whole object is verified against, base64: a checkpoint is never applied to another. */
	digest: string;
	/** Where that digest came from: `integrity` or the response header's name. */
	source: string;
	/** Bytes the state has hashed: always the checkpoint's `offset`. */
	length: number;
	/** The hash's state after those bytes (hash-wasm's `save()`), base64. */
	state: string;
}

/** A checkpoint's `hash`: the hash `state` after `length` bytes of an object whose digest is to be `expected`. */
export function checkpointHashOf(expected: ExpectedDigest, state: Uint8Array, length: number): CheckpointHash {
	const { algorithm, values, source } = expected;
	return { algorithm, digest: encode(values[0] as Uint8Array, 'base64'), source, length, state: encode(state, 'base64') };
}

/** A checkpoint's hash once validated. */
export interface ResumeHash {
	readonly algorithm: Algorithm;
	readonly digest: Uint8Array;
	readonly source: string;
	readonly state: Uint8Array;
}

/** A pin that a later request can send: a strong ETag, or a strong Last-Modified. */
export type StrongPin = Exclude<Pin, { kind: 'none' }>;

/** A checkpoint once validated: the revision it pins, as the requests send it. */
export interface ResumePoint {
	readonly offset: number;
	readonly size: number;
	readonly pin: StrongPin;
	readonly hash: ResumeHash | undefined;
}

function position(name: string, value: unknown): number {
	if (typeof value !== 'number' || !Number.isInteger(value)) {
		throw new TypeError(`Expected \`resume.${name}\` to be an integer >= 0, got ${describeValue(value)}`);
	}
	if (value < 0 || value > Number.MAX_SAFE_INTEGER) throw new RangeError(`Expected \`resume.${name}\` to be an integer >= 0, got ${describeValue(value)}`);
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
		throw new TypeError(`Expected \`resume\` to be a checkpoint object ({ url, offset, size, etag | lastModified }), got ${describeValue(value)}`);
	}
	const checkpoint = value as Record<string, unknown>;
	if (checkpoint.url !== undefined && typeof checkpoint.url !== 'string') throw new TypeError(`Expected \`resume.url\` to be a string, got ${describeValue(checkpoint.url)}`);
	const offset = position('offset', checkpoint.offset);
	const total = position('size', checkpoint.size);
	if (offset > total) throw new RangeError(`Expected \`resume.offset\` to be at most \`resume.size\` (${total}), got ${describeValue(offset)}`);
	if (size !== undefined && size !== total) throw new RangeError(`Expected \`size\` to be the checkpoint's (${total}), got ${describeValue(size)}`);
	const { etag, lastModified } = checkpoint;
	let pin: StrongPin;
	if (etag !== undefined) {
		// RFC 9110 §13.1.1: If-Match compares strongly, so a weak ETag could never match.
		if (!isStrongEtag(etag as string | undefined)) throw new TypeError(`Expected \`resume.etag\` to be a strong ETag ("..."), got ${describeValue(etag)}`);
		pin = { kind: 'etag', etag: (etag as string).trim(), lastModified: undefined };
	} else if (lastModified !== undefined) {
		if (typeof lastModified !== 'string' || Number.isNaN(Date.parse(lastModified))) {
			throw new TypeError(`Expected \`resume.lastModified\` to be an HTTP date, got ${describeValue(lastModified)}`);
		}
		pin = { kind: 'last-modified', lastModified, etag: undefined };
	} else {
		throw new TypeError('Expected `resume` to carry the validator it is pinned to (`etag` or `lastModified`), got neither: without one the rest could come from another revision');
	}
	return { offset, size: total, pin, hash: normalizeHash(checkpoint.hash, offset) };
}

/** `resume.hash`: of a known algorithm, a digest of its length, a state, and exactly `offset` bytes hashed. */
function normalizeHash(value: unknown, offset: number): ResumeHash | undefined {
	if (value === undefined) return undefined;
	const shape = '{ algorithm, digest, source, length, state } as `checkpoint()` gives it';
	if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`Expected \`resume.hash\` to be ${shape}, got ${describeValue(value)}`);
	const hash = value as Record<string, unknown>;
	const { algorithm, source, length } = hash;
	if (typeof algorithm !== 'string' || !isAlgorithm(algorithm)) {
		throw new TypeError(`Expected \`resume.hash.algorithm\` to be one of sha256, sha384, sha512, md5, crc32c, crc64nvme, got ${describeValue(algorithm)}`);
	}
	const digest = typeof hash.digest === 'string' ? ofLength(algorithm, fromBase64(hash.digest)) : undefined;
	if (!digest) throw new TypeError(`Expected \`resume.hash.digest\` to be a base64 ${algorithm} digest, got ${describeValue(hash.digest)}`);
	if (typeof source !== 'string' || source === '') throw new TypeError(`Expected \`resume.hash.source\` to be a string, got ${describeValue(source)}`);
	const state = typeof hash.state === 'string' ? fromBase64(hash.state) : undefined;
	if (!state) throw new TypeError(`Expected \`resume.hash.state\` to be base64, got ${describeValue(hash.state)}`);
	// A sink that records `{ ...checkpoint(), offset: written }` moves the offset, not the state.
	if (length !== offset) {
		throw new TypeError(`Expected \`resume.hash.length\` to be \`resume.offset\` (${offset}): the hash state describes ${describeValue(length)} bytes; a checkpoint whose offset was moved cannot carry its hash`);
	}
	return { algorithm, digest, source, state };
}

/** The checkpoint of a download pinned to `pin`, `offset` bytes of `size` handed out. */
export function checkpointOf(url: string, offset: number, size: number, pin: StrongPin): Checkpoint {
	return pin.kind === 'etag' ? { url, offset, size, etag: pin.etag } : { url, offset, size, lastModified: pin.lastModified };
}

/** What a checkpoint of a download pinned to `pin` would pin: undefined without a strong validator. */
export function resumable(pin: Pin, size: number): { pin: StrongPin; size: number } | undefined {
	return pin.kind === 'none' ? undefined : { pin, size };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
	return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/**
 * `resume` together with `integrity`: the bytes before the offset were handed out by another
 * download, so the whole object can be verified only from the hash of those bytes that the
 * checkpoint carries, of the same algorithm and digest. Without it (a checkpoint of a download
 * that verified nothing, or hashed natively) nothing here could prove the bytes before the
 * offset: a `TypeError` rather than a stream that looks verified. At offset 0 there is nothing before.
 */
export function checkResumeDigest(resume: ResumePoint | undefined, integrity: ExpectedDigest | undefined): void {
	if (!resume || !integrity) return;
	const { hash } = resume;
	if (!hash) {
		if (resume.offset === 0) return;
		throw new TypeError(
			`Expected \`resume\` to carry the hash of the ${resume.offset} bytes before its offset (\`resume.hash\`), to verify \`integrity\` over the whole object; the checkpoint has none (its download verified no digest, or hashed with a native hash that cannot save its state: see README "Resume later")`,
		);
	}
	if (hash.algorithm !== integrity.algorithm) {
		throw new TypeError(`Expected \`resume.hash\` to be of \`integrity\`'s algorithm (${integrity.algorithm}), got ${hash.algorithm}: the checkpoint verified another digest`);
	}
	if (!integrity.values.some((value) => same(value, hash.digest))) {
		throw new TypeError(`Expected \`resume.hash\` to verify the digest \`integrity\` gives: the checkpoint's ${hash.algorithm} is of another object`);
	}
}
