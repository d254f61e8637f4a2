import type { Checkpoint } from '../core/checkpoint.ts';
import type { DownloadInfo } from '../core/discovery.ts';

/** Bytes to hash: what `fs.createReadStream`, `Blob.stream()`, a `ReadableStream` or an array of pieces gives. */
export type Prefix = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ReadableStream<Uint8Array>;

/**
 * Gives a checkpoint the `hash` of the bytes before its offset, read again from where they were
 * written, so that a download resumed from it verifies the whole object (README "Resume later").
 * Needed where the download that took the checkpoint hashed natively (SHA-2 and MD5 in Node, Bun
 * and Deno) and so could not save its hash's state: its checkpoint has no `hash`, and `resume`
 * with `integrity` refuses it. `digest` is the `integrity` the download was given, or its
 * `info.digest` (a server's digest). Only the first `checkpoint.offset` bytes of `prefix` are
 * hashed (a whole file may be given); fewer is a `RangeError`. The hash code is loaded here, on
 * first use.
 *
 * @example
 * ```ts
 * const resume = await hashCheckpoint(JSON.parse(await readFile('big.iso.json', 'utf8')), createReadStream('big.iso'), integrity);
 * const rest = new ParallelGetStream(url, { integrity, resume });
 * ```
 */
export async function hashCheckpoint(checkpoint: Checkpoint, prefix: Prefix, digest: string | NonNullable<DownloadInfo['digest']>): Promise<Checkpoint> {
	// All of it is loaded on first use, with the hash code: the base bundle carries only this.
	const { checkpointWithHash } = await import('./prefix-hash.ts');
	return checkpointWithHash(checkpoint, prefix, digest);
}

