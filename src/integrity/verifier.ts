import type { Bytes } from '../core/chunk.ts';
import { IntegrityError } from '../errors/integrity-error.ts';
import { type ExpectedDigest, encode } from './digest.ts';
import type { CheckpointHash } from '../core/checkpoint.ts';
import type { Hasher } from './hashers.ts';

/**
 * Verifies the bytes of a download as the pull source hands them out, in order, and holds back
 * the last piece that might end the object until the digest is known to match: a consumer never
 * sees a clean end of wrong bytes (issue 14). The hash code is imported on first use only.
 */
export class Verifier {
	readonly expected: ExpectedDigest;
	readonly #url: string;
	#hasher: Hasher | undefined;
	#loading: Promise<void> | undefined;
	/** The latest piece that may be the object's last, hashed but not handed out yet. */
	#held: Bytes | undefined;
	/** The hash's state before `#held` was hashed: of exactly the bytes handed out (see `checkpointHash`). */
	#beforeHeld: Uint8Array | undefined;
	/** The state of a resumed download's hash, to continue from (see `checkpoint.ts`). */
	readonly #resumeState: Uint8Array | undefined;
	/** The bytes did not match: nothing of this download may be continued. */
	failed = false;

	constructor(expected: ExpectedDigest, url: string, state?: Uint8Array) {
		this.expected = expected;
		this.#url = url;
		this.#resumeState = state;
	}

	/** The hash is loaded (or skipped): `pass` and `finish` may be called. */
	get ready(): boolean {
		return this.#hasher !== undefined || this.skipped;
	}

	/**
	 * The server's digest could not be verified: the hash code did not load (a Content-Security-Policy
	 * without `wasm-unsafe-eval`, an import map without `hash-wasm`, a service worker, which cannot
	 * `import()`, bundled with the import kept apart). The download goes on unverified, as it
	 * would have without the header; the caller's `integrity` never does (see `load`).
	 */
	skipped = false;

	/** Loads the hash code (once); rejects where it cannot be loaded and the digest is the caller's. */
	load(): Promise<void> {
		const state = this.#resumeState;
		this.#loading ??= import('./hashers.ts')
			.then(async ({ createHasher }) => {
				this.#hasher = await createHasher(this.expected.algorithm, state === undefined ? {} : { state });
			})
			.catch((error: unknown) => {
				// A resumed hash goes on from the bytes before the checkpoint: without it, nothing here could be verified.
				if (state !== undefined) throw new TypeError('Expected `resume.hash.state` to be a state of this hash code that can be restored', { cause: error });
				if (this.expected.source === 'integrity') throw error;
				this.skipped = true;
			});
		return this.#loading;
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
		if (this.skipped) return piece;
		const hasher = this.#hasher as Hasher;
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
	 * hash cannot save its state (the native hash), before the hash code is loaded, once the
	 * download's bytes failed to match, and where the digest is skipped.
	 */
	checkpointHash(length: number): CheckpointHash | undefined {
		const hasher = this.#hasher;
		if (this.failed || this.skipped) return undefined;
		// A resumed hash not loaded yet has hashed nothing since: its state is the checkpoint's own.
		if (!hasher && this.#resumeState) return this.#hashOf(this.#resumeState, length);
		if (!hasher?.save) return undefined;
		// Once a piece has been held, the state before the latest one held is that of the bytes out
		// (a cancel drops the piece, not what was handed out); once nothing is held after `finish`,
		// of every byte. A finalized hash has no state to save.
		const state = this.#final ?? this.#beforeHeld ?? (this.#verified ? undefined : hasher.save());
		return state && this.#hashOf(state, length);
	}

	#hashOf(state: Uint8Array, length: number): CheckpointHash {
		const { algorithm, values, source } = this.expected;
		return { algorithm, digest: encode(values[0] as Uint8Array, 'base64'), source, length, state: encode(state, 'base64') };
	}

	/** The state after every byte, saved before the digest finalized the hash, once every byte is out. */
	#final: Uint8Array | undefined;
	/** The same, while the piece held back is still waiting for a read of its own (see `release`). */
	#afterHeld: Uint8Array | undefined;
	/** The digest matched (`finish`). */
	#verified = false;

	/** Every byte has been passed: checks the digest (once), throwing `IntegrityError` on a mismatch. */
	finish(): void {
		if (this.skipped || this.#verified) return;
		const hasher = this.#hasher as Hasher;
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
