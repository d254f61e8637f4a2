import type { Checkpoint, CheckpointHash } from '../core/checkpoint.ts';
import type { DownloadInfo } from '../core/discovery.ts';
import { describeValue } from '../utils/describe-value.ts';
import { type ExpectedDigest, encode, fromBase64, fromHex, isAlgorithm, ofLength, parseIntegrity } from './digest.ts';
import type { Prefix } from './hash-checkpoint.ts';
import { createHasher } from './hashers.ts';

/**
 * The `hash` of a checkpoint, made from the bytes before its offset where the download that took
 * it could not save its hash (the native hash of Node, Bun and Deno): the CLI's `--continue`
 * re-hashes `FILE.part`'s prefix this way. The hash is hash-wasm's, whose state can be saved.
 */
export async function prefixHash(expected: ExpectedDigest, prefix: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<CheckpointHash> {
	const hasher = await createHasher(expected.algorithm, { native: false });
	let length = 0;
	for await (const bytes of prefix) {
		hasher.update(bytes);
		length += bytes.byteLength;
	}
	const { algorithm, values, source } = expected;
	return { algorithm, digest: encode(values[0] as Uint8Array, 'base64'), source, length, state: encode((hasher.save as () => Uint8Array)(), 'base64') };
}

/** `hashCheckpoint` (the public entry, in `hash-checkpoint.ts`), loaded with the hash code. */
export async function checkpointWithHash(checkpoint: Checkpoint, prefix: Prefix, digest: string | NonNullable<DownloadInfo['digest']>): Promise<Checkpoint> {
	const expected = expectedOf(digest);
	const { hash: _dropped, ...rest } = checkpoint;
	const offset = rest.offset;
	if (!Number.isSafeInteger(offset) || offset < 0) throw new TypeError(`Expected \`checkpoint.offset\` to be a whole number of bytes, got ${describeValue(offset)}`);
	const hash = await prefixHash(expected, firstBytes(prefix, offset));
	if (hash.length < offset) throw new RangeError(`Expected the prefix to have the checkpoint's ${offset} bytes, got ${hash.length}`);
	return { ...rest, hash };
}

/** The digest to verify: an `integrity` string (its strongest), or `info.digest`. */
function expectedOf(digest: string | NonNullable<DownloadInfo['digest']>): ExpectedDigest {
	if (typeof digest === 'string') return parseIntegrity(digest) as ExpectedDigest;
	const { algorithm, value, source } = (digest ?? {}) as Partial<NonNullable<DownloadInfo['digest']>>;
	// `info.digest.value` is written as its source wrote it: base64 for a header, base64 or hex for `integrity`.
	const bytes = typeof algorithm === 'string' && isAlgorithm(algorithm) && typeof value === 'string' ? (ofLength(algorithm, fromBase64(value)) ?? ofLength(algorithm, fromHex(value))) : undefined;
	if (!bytes || typeof source !== 'string') throw new TypeError(`Expected \`digest\` to be an \`integrity\` string or a download's \`info.digest\`, got ${describeValue(digest)}`);
	return { algorithm: algorithm as ExpectedDigest['algorithm'], values: [bytes], encoding: 'base64', source };
}

/** The first `length` bytes of `prefix`, in its own pieces (the last one cut). */
async function* firstBytes(prefix: Prefix, length: number): AsyncGenerator<Uint8Array> {
	let left = length;
	if (left === 0) return;
	for await (const piece of pieces(prefix)) {
		yield piece.byteLength <= left ? piece : piece.subarray(0, left);
		left -= Math.min(left, piece.byteLength);
		if (left === 0) return;
	}
}

async function* pieces(prefix: Prefix): AsyncGenerator<Uint8Array> {
	if (typeof (prefix as ReadableStream<Uint8Array>).getReader !== 'function') {
		yield* prefix as AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
		return;
	}
	const reader = (prefix as ReadableStream<Uint8Array>).getReader();
	try {
		for (let read = await reader.read(); !read.done; read = await reader.read()) yield read.value;
	} finally {
		// Only the prefix is read: the rest of a whole file's stream is not.
		await reader.cancel().catch(() => undefined);
	}
}
