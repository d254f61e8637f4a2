import type { Bytes } from '../core/chunk.ts';
import { IntegrityError } from '../errors/integrity-error.ts';
import { type ExpectedDigest, encode } from './digest.ts';
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

	constructor(expected: ExpectedDigest, url: string) {
		this.expected = expected;
		this.#url = url;
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
		this.#loading ??= import('./hashers.ts')
			.then(async ({ createHasher }) => {
				this.#hasher = await createHasher(this.expected.algorithm);
			})
			.catch((error: unknown) => {
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
		(this.#hasher as Hasher).update(piece);
		if (!mayEnd) return piece;
		const out = this.#held;
		this.#held = piece;
		return out;
	}

	/** Every byte has been passed: the piece held back, if the digest matches; otherwise throws `IntegrityError`. */
	finish(): Bytes | undefined {
		if (this.skipped) return undefined;
		const actual = (this.#hasher as Hasher).digest();
		const { algorithm, values, encoding, source } = this.expected;
		if (!values.some((value) => equal(value, actual))) {
			throw new IntegrityError({
				url: this.#url,
				algorithm,
				expected: encode(values[0] as Uint8Array, encoding),
				actual: encode(actual, encoding),
				source,
			});
		}
		const held = this.#held;
		this.#held = undefined;
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
