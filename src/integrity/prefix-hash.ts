import type { CheckpointHash } from '../core/checkpoint.ts';
import { type ExpectedDigest, encode } from './digest.ts';
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
