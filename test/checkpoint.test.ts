/**
 * `resume` as `normalizeResume` validates it: a checkpoint may come from a file or storage, so
 * every field is checked, and each refusal names the field it is about (resume.test.ts and
 * resume-integrity.test.ts drive the same through the constructor).
 */
import { describe, expect, it } from 'vitest';
import { checkResumeDigest, normalizeResume, type ResumePoint } from '../src/core/checkpoint.ts';
import type { ExpectedDigest } from '../src/integrity/digest.ts';

const etag = '"e"';
/** A `resume.hash` that passes every check, for a checkpoint at offset 500 (CRC-64/NVME: 8 bytes). */
const hash = { algorithm: 'crc64nvme', digest: 'AAAAAAAAAAA=', source: 'integrity', length: 500, state: 'AAAA' };
const at500 = { url: 'u', offset: 500, size: 1000, etag };

describe('normalizeResume - what a checkpoint may be', () => {
	it('takes a checkpoint without `url` (the resumed download uses its own input), and a `size` that agrees', () => {
		expect(normalizeResume({ offset: 1, size: 10, etag }, undefined)).toMatchObject({ offset: 1, size: 10 });
		expect(normalizeResume({ url: 'u', offset: 1, size: 10, etag }, 10)).toMatchObject({ offset: 1, size: 10 });
	});

	it('names both sizes when `size` contradicts the checkpoint', () => {
		expect(() => normalizeResume({ url: 'u', offset: 1, size: 10, etag }, 11)).toThrow(/`size` to be the checkpoint's \(10\), got `11` \(number\)/);
	});

	it('takes offsets and sizes up to Number.MAX_SAFE_INTEGER, and refuses one past it', () => {
		const max = Number.MAX_SAFE_INTEGER;
		expect(normalizeResume({ offset: max, size: max, etag }, undefined)).toMatchObject({ offset: max, size: max });
		// 2 ** 53 is an integer to Number.isInteger, but no longer an exact byte offset.
		expect(() => normalizeResume({ offset: 0, size: 2 ** 53, etag }, undefined)).toThrow(RangeError);
		expect(() => normalizeResume({ offset: 0, size: 2 ** 53, etag }, undefined)).toThrow(/`resume.size` to be an integer >= 0/);
	});

	it('pins the ETag without the whitespace around it: every response’s ETag is compared to it as it is', () => {
		expect(normalizeResume({ offset: 1, size: 10, etag: ' "e" ' }, undefined)?.pin).toEqual({ kind: 'etag', etag: '"e"', lastModified: undefined });
	});

	it('refuses a Last-Modified that is not a string, even one Date.parse reads (5 reads as a date in 2001)', () => {
		expect(() => normalizeResume({ offset: 1, size: 10, lastModified: 5 }, undefined)).toThrow(/`resume.lastModified` to be an HTTP date, got `5` \(number\)/);
	});
});

describe('normalizeResume - what `resume.hash` may be, each refusal naming its field', () => {
	it('takes a well-formed hash', () => {
		expect(normalizeResume({ ...at500, hash }, undefined)?.hash).toMatchObject({ algorithm: 'crc64nvme', source: 'integrity' });
	});

	it.each([
		['a string', 'x'],
		['null', null],
		['an array', [hash]],
	])('a hash that is %s', (_, value) => {
		expect(() => normalizeResume({ ...at500, hash: value }, undefined)).toThrow(/`resume.hash` to be \{ algorithm, digest, source, length, state \} as `checkpoint\(\)` gives it/);
	});

	it.each([
		['an unknown algorithm', { algorithm: 'sha1' }, /`resume.hash.algorithm` to be one of sha256, sha384, sha512, md5, crc32c, crc64nvme, got `"sha1"`/],
		['a digest of the wrong length', { digest: 'AAAA' }, /`resume.hash.digest` to be a base64 crc64nvme digest, got `"AAAA"`/],
		// "12345678901" is base64 of 8 bytes: only the type tells it from a digest.
		['a digest that is a number', { digest: 12_345_678_901 }, /`resume.hash.digest` to be a base64 crc64nvme digest, got `12345678901` \(number\)/],
		['an empty source', { source: '' }, /`resume.hash.source` to be a string, got `""`/],
		['a source that is not a string', { source: 5 }, /`resume.hash.source` to be a string, got `5`/],
		// "1234" is base64 of 3 bytes.
		['a state that is a number', { state: 1234 }, /`resume.hash.state` to be base64, got `1234` \(number\)/],
		['a state that is not base64', { state: '***' }, /`resume.hash.state` to be base64, got `"\*\*\*"`/],
	])('%s', (_, change, message) => {
		expect(() => normalizeResume({ ...at500, hash: { ...hash, ...change } }, undefined)).toThrow(TypeError);
		expect(() => normalizeResume({ ...at500, hash: { ...hash, ...change } }, undefined)).toThrow(message);
	});
});

describe('checkResumeDigest - the checkpoint\'s hash must be of the digest `integrity` gives', () => {
	const digest = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
	const resume: ResumePoint = {
		offset: 500,
		size: 1000,
		pin: { kind: 'etag', etag, lastModified: undefined },
		hash: { algorithm: 'crc64nvme', digest, source: 'integrity', state: Uint8Array.of(0) },
	};
	const integrity = (...values: Uint8Array[]): ExpectedDigest => ({ algorithm: 'crc64nvme', values, encoding: 'base64', source: 'integrity' });

	it('refuses a digest that differs in any byte, even one that shares the others', () => {
		expect(() => checkResumeDigest(resume, integrity(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 9)))).toThrow(
			/`resume.hash` to verify the digest `integrity` gives: the checkpoint's crc64nvme is of another object/,
		);
		expect(() => checkResumeDigest(resume, integrity(Uint8Array.of(1, 9, 9, 9, 9, 9, 9, 9)))).toThrow(TypeError);
	});

	it('takes the checkpoint when any one of several values of `integrity` is its digest (SRI allows several)', () => {
		expect(() => checkResumeDigest(resume, integrity(digest))).not.toThrow();
		expect(() => checkResumeDigest(resume, integrity(Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9), digest))).not.toThrow();
	});
});
