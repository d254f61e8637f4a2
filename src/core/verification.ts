import type { ByteRange } from '../errors/parallel-get-error.ts';
import { declaresDigest } from '../http/digest-headers.ts';
import { encode, type ExpectedDigest } from '../integrity/digest.ts';
import type { Verifier } from '../integrity/verifier.ts';
import { noop } from '../utils/abort.ts';
import { type CheckpointHash, checkpointHashOf, type ResumeHash } from './checkpoint.ts';
import type { DownloadInfo } from './discovery.ts';

type VerifyingCode = typeof import('../integrity/verifier.ts');

/**
 * What one download's bytes are verified against, and the code that verifies them (README
 * "Integrity"): the caller's `integrity` or a checkpoint's digest from the start, a server's once
 * a response declares one. The code is a chunk of its own, imported here on first need; while it
 * loads, `loading` holds the bytes and the range answers back.
 */
export class Verification {
	readonly #url: string;
	/** Verifies the bytes as they are handed out, once its code has loaded. */
	verifier: Verifier | undefined;
	/** Set while the code that verifies loads (see `Download.loading`). */
	loading: Promise<void> | undefined;
	#verifying: Promise<VerifyingCode> | undefined;
	/** The caller's or the checkpoint's digest from the start, a server's once its verifier loaded. */
	#expected: ExpectedDigest | undefined;
	/** Compares a later response's digest header with the one discovery's response (or the checkpoint) declared. */
	#checkDigest: ((response: Response, range: ByteRange) => void) | undefined;

	constructor(url: string) {
		this.#url = url;
	}

	/** From now on the bytes are hashed as they are handed out; the hash code starts loading now. */
	verify(expected: ExpectedDigest, resumed?: ResumeHash): void {
		this.#expected = expected;
		const state = resumed?.state;
		this.#load(async (verifying) => {
			try {
				const code = await verifying;
				this.verifier = await code.createVerifier(expected, this.#url, state);
				// A server's digest verified before the checkpoint still pins the revision.
				if (resumed && expected.source !== 'integrity') this.#declare(code, expected);
			} catch (error) {
				// A resumed hash goes on from the bytes before the checkpoint: without it, nothing here could be verified.
				if (state !== undefined) throw new TypeError('Expected `resume.hash.state` to be a state of this hash code that can be restored', { cause: error });
				throw error;
			}
		}, false).catch(noop);
	}

	/**
	 * The server's digest of the whole object, when `response` declares one: verified where the
	 * caller gave none, and from now on pinning the revision. Its headers are parsed by the code
	 * that verifies: resolves once that is loaded where a response carries one (nothing is verified
	 * where it could not load), at once where none.
	 */
	declared(response: Response): Promise<void> {
		if (!declaresDigest(response)) return Promise.resolve();
		return this.#load(async (verifying) => {
			const code = await verifying;
			const declared = code.serverDigest(response);
			if (!declared) return;
			// Where the caller gave a digest, that one is verified; the server's still pins the revision.
			if (!this.#expected) {
				this.verifier = await code.createVerifier(declared, this.#url);
				this.#expected = declared;
			}
			this.#declare(code, declared);
		}, true);
	}

	/** A later response must not declare another digest than the one that pins (a changed revision). */
	checkDigest(response: Response, range: ByteRange): void {
		this.#checkDigest?.(response, range);
	}

	/** `info` saying what its bytes are verified against, if anything. */
	describe(info: DownloadInfo): DownloadInfo {
		const verified = this.#expected;
		if (verified) info.digest = { algorithm: verified.algorithm, source: verified.source, value: encode(verified.values[0] as Uint8Array, verified.encoding) };
		return info;
	}

	/** The hash a checkpoint at `offset` carries; a resumed hash not loaded yet has hashed nothing since, so its state is the checkpoint's own. */
	checkpointHash(offset: number, resumed: ResumeHash | undefined): CheckpointHash | undefined {
		const verifier = this.verifier;
		if (verifier) return verifier.checkpointHash(offset);
		const expected = this.#expected;
		return resumed && expected ? checkpointHashOf(expected, resumed.state, offset) : undefined;
	}

	/**
	 * Runs `step` with the code that verifies (`integrity/verifier.ts`, with the hash: imported once,
	 * here), after the step before it; meanwhile `loading` holds the bytes and the range answers
	 * back (see `Download.loading`). A step that fails fails the download once the pull source
	 * waits for it, unless it may be `skipped`: a server's digest whose code could not load (a
	 * Content-Security-Policy without `wasm-unsafe-eval`, an import map without `hash-wasm`, a
	 * service worker, which cannot `import()`, bundled with the import kept apart) goes unverified,
	 * as it would have without the header; the caller's `integrity` never does.
	 */
	#load(step: (verifying: Promise<VerifyingCode>) => Promise<void>, skipped: boolean): Promise<void> {
		const verifying = (this.#verifying ??= import('../integrity/verifier.ts'));
		const before = this.loading;
		const loading = (async (): Promise<void> => {
			await before;
			await (skipped ? step(verifying).catch(noop) : step(verifying));
		})();
		this.loading = loading;
		loading.then(() => {
			if (this.loading === loading) this.loading = undefined;
		}, noop);
		return loading;
	}

	#declare(code: VerifyingCode, declared: ExpectedDigest): void {
		this.#checkDigest = (response, range) => code.checkDigestUnchanged(response, declared, range, this.#url);
	}
}
