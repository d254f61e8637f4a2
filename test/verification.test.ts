/**
 * `Verification`, the part that knows what a download's bytes are verified against, on its own:
 * `loading` says whether the code that verifies is still at work, for the pull source and the
 * range answers that wait on it, through every step queued, not only the first.
 */
import { expect, it } from 'vitest';
import { Verification } from '../src/core/verification.ts';
import type { ExpectedDigest } from '../src/integrity/digest.ts';
import { base64, digestOf } from './support/digests.ts';

const url = 'http://127.0.0.1/object.bin';
const bytes = new Uint8Array([1, 2, 3]);
const integrity: ExpectedDigest = { algorithm: 'sha256', values: [digestOf('sha256', bytes)], encoding: 'base64', source: 'integrity' };

it("stays loading until the last step queued has run: the server's digest declared while the caller's loads", async () => {
	const verification = new Verification(url);
	verification.verify(integrity);
	const first = verification.loading as Promise<void>;
	const response = new Response(bytes, { headers: { 'repr-digest': `sha-256=:${base64(digestOf('sha256', bytes))}:` } });
	const second = verification.declared(response);
	expect(verification.loading).toBe(second);
	await first;
	// The caller's digest has its verifier; the server's, which pins the revision, is still being read.
	expect(verification.verifier).toBeDefined();
	expect(verification.loading).toBe(second);
	await second;
	expect(verification.loading).toBeUndefined();
});
