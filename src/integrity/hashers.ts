import { createCRC32, createCRC64, createMD5, createSHA256, createSHA384, createSHA512, type IHasher } from 'hash-wasm';
import type { Algorithm } from './digest.ts';

/**
 * The hash functions, loaded only when something is to be verified (with `verifier.ts`, which the
 * engine imports dynamically). hash-wasm: one streaming WebAssembly implementation for every
 * runtime (browsers have no streaming `crypto.subtle.digest`), with CRC-32C and CRC-64/NVME
 * besides the SHA-2 family and MD5, and a hash state that can be saved and restored. Where the
 * runtime has a faster native hash (`node:crypto` in Node, Bun and Deno; see README
 * "Integrity"), that is used for SHA-2 and MD5 instead.
 */

export interface Hasher {
	update(bytes: Uint8Array): void;
	/** The digest, big-endian (a CRC as S3 and GCS write it). */
	digest(): Uint8Array;
	/**
	 * The state of the hash so far, to continue it in another process (hash-wasm's `save()`);
	 * absent for the native hash, whose state cannot be read out.
	 */
	save?(): Uint8Array;
}

/** CRC-32C (Castagnoli, iSCSI) and CRC-64/NVME, reflected polynomials. */
const CRC32C = 0x82f63b78;
const CRC64NVME = '9a6c9329ac4bc9b5';

function wasm(algorithm: Algorithm): Promise<IHasher> {
	switch (algorithm) {
		case 'sha256':
			return createSHA256();
		case 'sha384':
			return createSHA384();
		case 'sha512':
			return createSHA512();
		case 'md5':
			return createMD5();
		case 'crc32c':
			return createCRC32(CRC32C);
		case 'crc64nvme':
			return createCRC64(CRC64NVME);
	}
}

interface NodeHash {
	update(bytes: Uint8Array): unknown;
	digest(): Uint8Array;
}

// Not a literal, so that bundlers for the browser leave it alone; never reached there.
const NODE_CRYPTO = 'node:crypto';

/**
 * `node:crypto`'s `createHash` in Node, Bun and Deno (4-20x hash-wasm's SHA-2 there, see README
 * "Integrity"); none in browsers, nor for the CRCs, which it lacks.
 */
async function native(algorithm: Algorithm): Promise<Hasher | undefined> {
	const runtime = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown };
	if (algorithm === 'crc32c' || algorithm === 'crc64nvme' || (runtime.Deno === undefined && !runtime.process?.versions?.node)) return undefined;
	try {
		const crypto = (await import(/* @vite-ignore */ NODE_CRYPTO)) as { createHash(name: string): NodeHash };
		const hash = crypto.createHash(algorithm);
		return {
			update: (bytes) => {
				hash.update(bytes);
			},
			digest: () => new Uint8Array(hash.digest()),
		};
	} catch {
		return undefined;
	}
}

export interface HasherChoice {
	/** Use the runtime's native hash where it has one. */
	native?: boolean;
	/** Continue from this state (a `save()` of an earlier hash of the same algorithm): hash-wasm, always. */
	state?: Uint8Array;
}

export async function createHasher(algorithm: Algorithm, choice: HasherChoice = {}): Promise<Hasher> {
	const fast = choice.native === false || choice.state !== undefined ? undefined : await native(algorithm);
	if (fast) return fast;
	const hasher = await wasm(algorithm);
	hasher.init();
	if (choice.state !== undefined) hasher.load(choice.state);
	return {
		update: (bytes) => {
			hasher.update(bytes);
		},
		digest: () => hasher.digest('binary'),
		save: () => hasher.save(),
	};
}
