/**
 * The digest headers' values (src/http/digests.ts), parsed from real `Headers`: which member of
 * which header becomes the digest of the whole object, and when a later answer declares another.
 */
import { describe, expect, it } from 'vitest';
import { RevisionChangedError } from '../src/errors/revision-changed-error.ts';
import { checkDigestUnchanged, serverDigest } from '../src/http/digests.ts';

/** A base64 value of `length` bytes, each `fill`. */
const b64 = (length: number, fill: number): string => Buffer.alloc(length, fill).toString('base64');
const bytes = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);
const answer = (status: number, headers: Record<string, string>): Response => new Response(null, { status, headers });

describe('serverDigest - the strongest whole-object digest an answer declares', () => {
	it('Repr-Digest: a dictionary, the strongest member taken, unknown or malformed members skipped', () => {
		const value = `garbage, md5=:${b64(16, 1)}:, sha-256=:${b64(32, 2)}:  , sha-512=:${b64(64, 3)}:;a=b`;
		expect(serverDigest(answer(206, { 'repr-digest': value }))).toEqual({ algorithm: 'sha512', values: [bytes(64, 3)], encoding: 'base64', source: 'repr-digest' });
		// Whitespace before a comma and parameters after the value are part of the grammar.
		expect(serverDigest(answer(206, { 'repr-digest': `sha-256=:${b64(32, 2)}:  , md5=:x:` }))?.values).toEqual([bytes(32, 2)]);
		expect(serverDigest(answer(206, { 'repr-digest': `SHA-256=:${b64(32, 2)}:;q=1;r=2` }))?.algorithm).toBe('sha256');
	});

	it('Repr-Digest: a member with anything before its key or after its value is not a digest', () => {
		for (const member of [`sha-256=:${b64(32, 2)}:x`, `x sha-256=:${b64(32, 2)}:`, `sha-256=:${b64(31, 2)}:`, `sha-256=${b64(32, 2)}`]) {
			expect(serverDigest(answer(206, { 'repr-digest': member })), member).toBeUndefined();
		}
	});

	it('x-goog-hash: md5 over crc32c, each value of its own length, whitespace around a member only', () => {
		expect(serverDigest(answer(206, { 'x-goog-hash': `crc32c=${b64(4, 1)} , md5=${b64(16, 2)}` }))).toEqual({ algorithm: 'md5', values: [bytes(16, 2)], encoding: 'base64', source: 'x-goog-hash' });
		expect(serverDigest(answer(206, { 'x-goog-hash': `crc32c=${b64(4, 1)}, md5=${b64(15, 2)}` }))).toEqual({ algorithm: 'crc32c', values: [bytes(4, 1)], encoding: 'base64', source: 'x-goog-hash' });
		for (const member of [`md5=${b64(16, 2)}!`, `x md5=${b64(16, 2)}`, `md5=${b64(16, 2)} x`, `sha256=${b64(32, 2)}`]) {
			expect(serverDigest(answer(206, { 'x-goog-hash': member })), member).toBeUndefined();
		}
	});

	it("a body's digest (Content-MD5, Content-Digest, S3's checksums) only on a 200: on a 206 it is the part's", () => {
		const headers = { 'x-goog-hash': `crc32c=${b64(4, 1)}`, 'content-md5': b64(16, 2), 'content-digest': `sha-256=:${b64(32, 3)}:` };
		expect(serverDigest(answer(206, headers))).toEqual({ algorithm: 'crc32c', values: [bytes(4, 1)], encoding: 'base64', source: 'x-goog-hash' });
		expect(serverDigest(answer(200, headers))).toEqual({ algorithm: 'sha256', values: [bytes(32, 3)], encoding: 'base64', source: 'content-digest' });
		expect(serverDigest(answer(200, { 'x-amz-checksum-crc64nvme': b64(8, 4) }))).toEqual({ algorithm: 'crc64nvme', values: [bytes(8, 4)], encoding: 'base64', source: 'x-amz-checksum-crc64nvme' });
		expect(serverDigest(answer(200, { 'x-amz-checksum-sha256': b64(32, 5), 'x-amz-checksum-type': 'COMPOSITE' }))).toBeUndefined();
		expect(serverDigest(answer(206, { 'x-ms-blob-content-md5': b64(16, 6) }))).toEqual({ algorithm: 'md5', values: [bytes(16, 6)], encoding: 'base64', source: 'x-ms-blob-content-md5' });
	});
});

describe('checkDigestUnchanged - a later answer of the download', () => {
	const range = { start: 10, end: 19 };
	const url = 'http://127.0.0.1:9/o.bin';
	const declared = (source: string, algorithm: 'sha256' | 'md5', value: Uint8Array) => ({ algorithm, values: [value], encoding: 'base64' as const, source });

	it('another value in the header that declared the digest is another revision', () => {
		const digest = declared('repr-digest', 'sha256', bytes(32, 1));
		let thrown: unknown;
		try {
			checkDigestUnchanged(answer(206, { 'repr-digest': `sha-256=:${b64(32, 2)}:` }), digest, range, url);
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(RevisionChangedError);
		expect(thrown).toMatchObject({ url, range, status: 206, expected: b64(32, 1), received: b64(32, 2) });
		expect((thrown as Error).message).toBe(`The object changed during the download: repr-digest sha256 ${b64(32, 2)} differs from ${b64(32, 1)} (bytes 10-19)`);
	});

	it('the same value, no such header (a proxy may drop it), or no digest: nothing to say', () => {
		const digest = declared('repr-digest', 'sha256', bytes(32, 1));
		expect(() => checkDigestUnchanged(answer(206, { 'repr-digest': `sha-256=:${b64(32, 1)}:` }), digest, range, url)).not.toThrow();
		expect(() => checkDigestUnchanged(answer(206, {}), digest, range, url)).not.toThrow();
		expect(() => checkDigestUnchanged(answer(206, { 'repr-digest': `sha-256=:${b64(32, 2)}:` }), undefined, range, url)).not.toThrow();
	});

	it('only the header that declared it is compared, and only a whole-object one', () => {
		// Azure's MD5 declared it; x-goog-hash's md5 on the same answer is another header's.
		const azure = declared('x-ms-blob-content-md5', 'md5', bytes(16, 1));
		expect(() => checkDigestUnchanged(answer(206, { 'x-goog-hash': `md5=${b64(16, 2)}`, 'x-ms-blob-content-md5': b64(16, 1) }), azure, range, url)).not.toThrow();
		// A body's digest (discovery's 200) says nothing about a later answer's bytes.
		const body = declared('content-md5', 'md5', bytes(16, 1));
		expect(() => checkDigestUnchanged(answer(200, { 'content-md5': b64(16, 2) }), body, range, url)).not.toThrow();
	});
});
