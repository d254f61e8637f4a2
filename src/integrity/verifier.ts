import type { Bytes } from '../core/chunk.ts';
import { type CheckpointHash, checkpointHashOf } from '../core/checkpoint.ts';
import { IntegrityError } from '../errors/integrity-error.ts';
import { type ExpectedDigest, encode } from './digest.ts';
import { createHasher, type Hasher } from './hashers.ts';

/**
 * What only a download that verifies needs, loaded on demand (`import()`, a chunk of its own:
 * see README "Integrity"): the hash code, the parsing of the server's digest headers, and the
 * verifier. A download without a digest to verify loads none of it.
 */
export { checkDigestUnchanged, serverDigest } from '../http/digests.ts';

/** A verifier of `expected`, its hash loaded (and continued from a resumed download's `state`). */
export async function createVerifier(expected: ExpectedDigest, url: string, state?: Uint8Array): Promise<Verifier> {
	return new Verifier(expected, url, await createHasher(expected.algorithm, state === undefined ? {} : { state }));
}

/**
 * Verifies the bytes of a download as the pull source hands them out, in order, and holds back
 * the last piece that might end the object until the digest is known to match: a consumer never
 * sees a clean end of wrong bytes (issue 14).
 */
export class Verifier {
	readonly expected: ExpectedDigest;
	readonly #url: string;
	readonly #hasher: Hasher;
	/** The latest piece that may be the object's last, hashed but not handed out yet. */
	#held: Bytes | undefined;
	/** The hash's state before `#held` was hashed: of exactly the bytes handed out (see `checkpointHash`). */
	#beforeHeld: Uint8Array | undefined;
	/** The bytes did not match: nothing of this download may be continued. */
	failed = false;

	constructor(expected: ExpectedDigest, url: string, hasher: Hasher) {
		this.expected = expected;
		this.#url = url;
		this.#hasher = hasher;
	}

	/** Bytes held back, not yet handed out. */
	get heldBytes(): number {
		return this.#held?.byteLength ?? 0;
	}

	/**
	 * Hashes `piece`, the next bytes of the object, and returns what may be handed out now: the
	 * piece itself, or, when it may be the object's last (`mayEnd`), the piece held back before
	 * it (if any) while this one is held in its place.
	 */
	pass(piece: Bytes, mayEnd: boolean): Bytes | undefined {
		const hasher = this.#hasher;
		// Once a piece is held, every later one is held in turn (a tail split off the last chunk
		// makes its head no longer the end): bytes go out in order, the last one after `finish`.
		if (!mayEnd && this.#held === undefined) {
			hasher.update(piece);
			return piece;
		}
		// What has been handed out once this piece is held: the state before it.
		this.#beforeHeld = hasher.save?.();
		hasher.update(piece);
		const out = this.#held;
		this.#held = piece;
		return out;
	}

	/**
	 * The hash of exactly the `length` bytes handed out, for a checkpoint: undefined where the
	 * hash cannot save its state (the native hash), and once the download's bytes failed to match.
	 */
	checkpointHash(length: number): CheckpointHash | undefined {
		const hasher = this.#hasher;
		if (this.failed || !hasher.save) return undefined;
		// Once a piece has been held, the state before the latest one held is that of the bytes out
		// (a cancel drops the piece, not what was handed out); once nothing is held after `finish`,
		// of every byte. A finalized hash has no state to save.
		const state = this.#final ?? this.#beforeHeld ?? (this.#verified ? undefined : hasher.save());
		return state && checkpointHashOf(this.expected, state, length);
	}

	/** The state after every byte, saved before the digest finalized the hash, once every byte is out. */
	#final: Uint8Array | undefined;
	/** The same, while the piece held back is still waiting for a read of its own (see `release`). */
	#afterHeld: Uint8Array | undefined;
	/** The digest matched (`finish`). */
	#verified = false;

	/** Every byte has been passed: checks the digest (once), throwing `IntegrityError` on a mismatch. */
	finish(): void {
		if (this.#verified) return;
		const hasher = this.#hasher;
		const state = hasher.save?.();
		const actual = hasher.digest();
		const { algorithm, values, encoding, source } = this.expected;
		if (!values.some((value) => equal(value, actual))) {
			this.failed = true;
			throw new IntegrityError({
				url: this.#url,
				algorithm,
				expected: encode(values[0] as Uint8Array, encoding),
				actual: encode(actual, encoding),
				source,
			});
		}
		this.#verified = true;
		if (this.#held === undefined) this.#final = state;
		else this.#afterHeld = state;
	}

	/** After `finish`: the piece held back, to hand out now; every byte is out once it is. */
	release(): Bytes | undefined {
		const held = this.#held;
		this.#held = undefined;
		if (held) this.#final = this.#afterHeld;
		return held;
	}

	/** The download ended otherwise: the piece held back is dropped. */
	clear(): void {
		this.#held = undefined;
	}
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
	if (a.byteLength !== b.byteLength) return false;
	for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
	return true;
}
