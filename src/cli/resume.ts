/**
 * `--continue` (issue 15): `FILE.part` is continued from the checkpoint kept beside it in
 * `FILE.part.json`, never guessed from its length. The sidecar is replaced atomically (a new file
 * renamed over it), and only ever claims bytes already flushed to `FILE.part`, so a kill -9 at
 * any moment leaves a pair that continues correctly, losing at most the bytes since the last
 * flush.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import type { Checkpoint } from '../core/checkpoint.ts';
import { encode, type ExpectedDigest, fromBase64, isAlgorithm, ofLength } from '../integrity/digest.ts';

/** What the sidecar holds: the library's checkpoint, its offset the bytes flushed to FILE.part. */
export interface Sidecar {
	/** The format, for a later version to tell its own. */
	version: 1;
	checkpoint: Checkpoint;
	/**
	 * The server's digest the download verifies (`info.digest`), so that `--continue` verifies it
	 * over the whole file too, where the checkpoint carries no hash (see `withHash`).
	 */
	digest?: { algorithm: string; source: string; value: string };
}

export function partName(file: string): string {
	return `${file}.part`;
}

export function sidecarName(file: string): string {
	return `${file}.part.json`;
}

/** `--continue` cannot apply: the one line says why and how to start over. Exit status 1. */
export class ContinueError extends Error {
	override name = 'ContinueError';
}

async function size(path: string): Promise<number | undefined> {
	try {
		return (await stat(path)).size;
	} catch (error) {
		if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
		throw error;
	}
}

/**
 * The checkpoint to continue `FILE.part` from; undefined when there is nothing to continue
 * (neither file exists: the download starts from the beginning). Refuses, with a
 * `ContinueError`, a `.part` without its sidecar, a sidecar without its `.part`, a sidecar it
 * cannot read, and a `.part` shorter than its sidecar claims. The checkpoint itself is checked by
 * the library (`resume`), which refuses a malformed one at construction.
 */
export async function findCheckpoint(file: string): Promise<Checkpoint | undefined> {
	const part = partName(file);
	const side = sidecarName(file);
	const partSize = await size(part);
	let text: string;
	try {
		text = await readFile(side, 'utf8');
	} catch (error) {
		if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
		if (partSize === undefined) return undefined;
		throw new ContinueError(`${part} has no ${side} beside it: --continue cannot tell how much of it is good; remove ${part}, or run without --continue, to start over`);
	}
	if (partSize === undefined) throw new ContinueError(`${side} has no ${part} beside it: remove ${side}, or run without --continue, to start over`);
	let sidecar: Partial<Sidecar>;
	try {
		sidecar = JSON.parse(text) as Partial<Sidecar>;
	} catch {
		throw new ContinueError(`${side} is not valid JSON: run without --continue to start over`);
	}
	const checkpoint = sidecar?.checkpoint;
	if (sidecar?.version !== 1 || typeof checkpoint !== 'object' || checkpoint === null) {
		throw new ContinueError(`${side} is not a checkpoint of this program: run without --continue to start over`);
	}
	if (typeof checkpoint.offset === 'number' && partSize < checkpoint.offset) {
		throw new ContinueError(`${part} holds ${partSize} bytes, fewer than the ${checkpoint.offset} that ${side} claims: run without --continue to start over`);
	}
	return checkpoint;
}

/** Replaces the sidecar atomically: written and flushed under another name, then renamed over it. */
export async function writeSidecar(file: string, checkpoint: Checkpoint, digest?: Sidecar['digest']): Promise<void> {
	const side = sidecarName(file);
	const fresh = `${side}.new`;
	const handle = await open(fresh, 'w');
	try {
		await handle.writeFile(`${JSON.stringify({ version: 1, checkpoint, ...(digest ? { digest } : {}) } satisfies Sidecar)}\n`);
		await handle.sync();
	} finally {
		await handle.close();
	}
	await rename(fresh, side);
}

export async function removeSidecar(file: string): Promise<void> {
	await rm(sidecarName(file), { force: true });
	await rm(`${sidecarName(file)}.new`, { force: true });
}

/**
 * The checkpoint to resume with when a digest is verified (`--checksum`, `--integrity`): its own
 * hash where the sidecar carries one of that digest (the download hashed with hash-wasm, and the
 * sidecar was written when the bytes on disk were the bytes handed out); otherwise the hash of
 * `FILE.part`'s first `offset` bytes, read again here, so that the library verifies the whole
 * object. Hashing natively (SHA-2 and MD5 in Node, Bun and Deno), the download's state cannot be
 * saved; re-hashing the prefix reads it from the disk once, at hash-wasm's pace.
 */
export async function withHash(file: string, checkpoint: Checkpoint, expected: ExpectedDigest | undefined): Promise<Checkpoint> {
	const { hash, ...rest } = checkpoint;
	if (!expected) return checkpoint;
	if (hash?.algorithm === expected.algorithm && expected.values.some((value) => encode(value, 'base64') === hash.digest)) return checkpoint;
	if (rest.offset === 0 || typeof rest.offset !== 'number') return rest;
	const { prefixHash } = await import('../integrity/prefix-hash.ts');
	const prefix = createReadStream(partName(file), { start: 0, end: rest.offset - 1 }) as AsyncIterable<Uint8Array>;
	const made = await prefixHash(expected, prefix);
	if (made.length !== rest.offset) throw new ContinueError(`${partName(file)} ended before the ${rest.offset} bytes that ${sidecarName(file)} claims: run without --continue to start over`);
	return { ...rest, hash: made };
}

/**
 * The server's digest the sidecar names (see `Sidecar.digest`), to verify on: undefined when it
 * names none, or one that is not a header's digest of a known algorithm in base64.
 */
export async function sidecarDigest(file: string): Promise<ExpectedDigest | undefined> {
	try {
		const { digest } = JSON.parse(await readFile(sidecarName(file), 'utf8')) as Partial<Sidecar>;
		if (!digest || typeof digest.source !== 'string' || digest.source === 'integrity' || typeof digest.algorithm !== 'string' || !isAlgorithm(digest.algorithm)) return undefined;
		const value = ofLength(digest.algorithm, typeof digest.value === 'string' ? fromBase64(digest.value) : undefined);
		return value && { algorithm: digest.algorithm, values: [value], encoding: 'base64', source: digest.source };
	} catch {
		return undefined;
	}
}
