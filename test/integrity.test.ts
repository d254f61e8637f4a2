/**
 * Integrity (issue 14): the caller's `integrity` and the whole-object digests a server declares
 * are verified as the bytes stream, and the last piece is held back until the digest matches.
 * Against the local origin, which serves each digest header with the right value and can flip
 * one byte of a body while every header stays right.
 */
import { describe, expect, it } from 'vitest';
import { ParallelGetStream as Base, type ParallelGetOptions, isIntegrityError, isParallelGetError, isRevisionChangedError } from '../src/index.ts';
import { ParallelGetStream as Ponyfill } from '../src/ponyfill.ts';
import { parseIntegrity } from '../src/integrity/digest.ts';
import { createHasher } from '../src/integrity/hashers.ts';
import { serverDigest } from '../src/http/digests.ts';
import { drain, readToError, sha256 } from './support/collect.ts';
import { base64, crc32c, crc64nvme, type DigestAlgorithm, type DigestHeader, digestOf, hex } from './support/digests.ts';
import { useOrigin } from './support/use-origin.ts';

const KiB = 1024;
const chunkSize = 64 * KiB;
/** Four chunks, read by two slots. */
const size = 4 * chunkSize;
/** A byte in the middle of the third chunk. */
const middle = 2 * chunkSize + 12_345;

class ParallelGetStream extends Base {
	constructor(input: string | URL | Request, options?: ParallelGetOptions) {
		super(input, { chunkSize, concurrency: 2, hedge: false, overlap: false, retry: { limit: 2, delay: () => 1, jitter: false }, ...options });
	}
}

const origin = useOrigin();

let paths = 0;
function object(spec: { size?: number; digests?: DigestHeader[]; acceptRanges?: boolean } = {}) {
	const path = `/integrity-${++paths}.bin`;
	const put = origin.put(path, { size, seed: paths, ...spec });
	const bytes = put.slice();
	return { path, url: origin.url(path), bytes, digest: (algorithm: DigestAlgorithm) => digestOf(algorithm, bytes) };
}


const algorithms: DigestAlgorithm[] = ['sha256', 'sha384', 'sha512', 'md5', 'crc32c', 'crc64nvme'];

describe('hash functions', () => {
	it('reference CRCs - the catalogue check values of "123456789"', () => {
		const check = new TextEncoder().encode('123456789');
		expect(hex(crc32c(check))).toBe('e3069283');
		expect(hex(crc64nvme(check))).toBe('ae8b14860a799888');
	});

	it.each(algorithms)('createHasher(%s) - streamed in uneven pieces, native and WebAssembly alike, equals the reference', async (algorithm) => {
		const bytes = object().bytes;
		for (const native of [true, false]) {
			const hasher = await createHasher(algorithm, { native });
			for (let at = 0; at < bytes.byteLength; at += 7919) hasher.update(bytes.subarray(at, at + 7919));
			expect(hex(hasher.digest()), `native: ${native}`).toBe(hex(digestOf(algorithm, bytes)));
		}
	});
});

describe('the integrity option', () => {
	it('parses SRI, the object stores\' base64 and hex, and checks the strongest', () => {
		const sha256 = new Uint8Array(32).fill(1);
		const sha512 = new Uint8Array(64).fill(2);
		expect(parseIntegrity(`sha256-${base64(sha256)}`)).toMatchObject({ algorithm: 'sha256', encoding: 'base64', source: 'integrity' });
		expect(parseIntegrity(`sha256-${base64(sha256)}  sha512-${base64(sha512)}?opt md5-${base64(new Uint8Array(16))}`)).toMatchObject({ algorithm: 'sha512', values: [sha512] });
		expect(parseIntegrity(`sha256:${hex(sha256).toUpperCase()}`)).toMatchObject({ algorithm: 'sha256', encoding: 'hex', values: [sha256] });
		expect(parseIntegrity(`crc64nvme-${base64(new Uint8Array(8))} crc32c-AAAAAA==`)).toMatchObject({ algorithm: 'crc64nvme' });
		expect(parseIntegrity(`md5-${base64(new Uint8Array(16))} crc32c-AAAAAA==`)).toMatchObject({ algorithm: 'md5' });
	});

	it.each([
		['', 'an empty string'],
		['sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=', 'an algorithm not supported'],
		['sha256-abc', 'a value of the wrong length'],
		[`sha256:${'a'.repeat(63)}`, 'odd hex'],
		['sha256-!!!!', 'not base64'],
		[42, 'not a string'],
	])('throws at construction, naming the option: %j (%s)', (integrity, _what) => {
		const error = (() => {
			try {
				new ParallelGetStream(origin.url('/nothing'), { integrity: integrity as string });
			} catch (thrown) {
				return thrown as Error;
			}
			throw new Error('expected a throw');
		})();
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toContain('`integrity`');
	});

	it.each(algorithms.flatMap((algorithm) => [[algorithm, 'base64'], [algorithm, 'hex']] as const))('%s (%s): the object, verified', async (algorithm, encoding) => {
		const { url, bytes, digest } = object();
		const integrity = encoding === 'hex' ? `${algorithm}:${hex(digest(algorithm))}` : `${algorithm}-${base64(digest(algorithm))}`;
		const download = new ParallelGetStream(url, { integrity });
		const out = await drain(download.readable);
		expect(out.sha256).toBe(sha256(bytes));
		expect((await download.info).digest).toEqual({ algorithm, source: 'integrity', value: integrity.slice(algorithm.length + 1) });
		expect(download.stats.loaded).toBe(size);
	});

	it('a wrong digest: ERR_INTEGRITY with both digests, and the last piece never handed out', async () => {
		const { url, digest } = object();
		const wrong = digest('sha256').slice();
		wrong[0] = (wrong[0] as number) ^ 1;
		const download = new ParallelGetStream(url, { integrity: `sha256:${hex(wrong)}` });
		const { error, delivered } = await readToError(download.readable);
		expect(isIntegrityError(error) && isParallelGetError(error)).toBe(true);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY', algorithm: 'sha256', expected: hex(wrong), actual: hex(digest('sha256')), source: 'integrity', url });
		expect(delivered).toBeLessThan(size);
		expect(delivered).toBeGreaterThanOrEqual(3 * chunkSize);
		expect(download.stats.loaded).toBe(delivered);
	});

	it('a wrong digest errors the stream on a read of its own, never right after a piece went out (a worker\'s body reader then left it unhandled)', async () => {
		const { url, digest } = object();
		const wrong = digest('sha256').slice();
		wrong[0] = (wrong[0] as number) ^ 1;
		const reader = new ParallelGetStream(url, { integrity: `sha256:${hex(wrong)}` }).readable.getReader();
		let reading = false;
		let erroredWithNoRead = false;
		// A reader that holds its last piece (Chromium's, writing it out to the page) has no read
		// waiting: an error then reaches it only through a cancel.
		reader.closed.catch(() => {
			if (!reading) erroredWithNoRead = true;
		});
		let pieces = 0;
		for (;;) {
			reading = true;
			const result = await reader.read().then(
				(read) => ((reading = false), read),
				(error: unknown) => ((reading = false), { error }),
			);
			if ('error' in result) {
				expect(result.error).toMatchObject({ code: 'ERR_INTEGRITY' });
				break;
			}
			expect(result.done).toBe(false);
			pieces++;
			// Everything queued runs meanwhile: the requests, the hash, the verdict.
			await new Promise((resolve) => setTimeout(resolve, 5));
			expect(erroredWithNoRead, `errored after piece ${pieces} with no read waiting`).toBe(false);
		}
		expect(pieces).toBeGreaterThan(0);
	});

	it('one flipped byte in the middle of a chunk, every header right: ERR_INTEGRITY, fewer bytes than the size', async () => {
		const { path, url, digest } = object();
		origin.fault(path, () => ({ corruptByteAt: middle }));
		const download = new ParallelGetStream(url, { integrity: `sha512-${base64(digest('sha512'))}` });
		const { error, delivered } = await readToError(download.readable);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY', algorithm: 'sha512' });
		expect(delivered).toBeLessThan(size);
	});

	it('an empty object: verified (and failed) like any other', async () => {
		const { url } = object({ size: 0 });
		const empty = new Uint8Array(0);
		const ok = new ParallelGetStream(url, { integrity: `sha256-${base64(digestOf('sha256', empty))}` });
		expect((await drain(ok.readable)).length).toBe(0);
		expect((await ok.info).mode).toBe('empty');
		const bad = new ParallelGetStream(url, { integrity: `crc32c-${base64(new Uint8Array([0, 0, 0, 1]))}` });
		const { error, delivered } = await readToError(bad.readable);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY', algorithm: 'crc32c', actual: 'AAAAAA==' });
		expect(delivered).toBe(0);
	});

	it.each([
		['concurrency: 1', { concurrency: 1 }, {}],
		['a server that ignores Range', {}, { acceptRanges: false }],
	] as const)("'single' mode (%s): verified, the last piece held back on a mismatch", async (_name, options, spec) => {
		const { path, url, bytes, digest } = object(spec);
		const integrity = `sha256-${base64(digest('sha256'))}`;
		const ok = new ParallelGetStream(url, { ...options, integrity });
		expect((await drain(ok.readable)).sha256).toBe(sha256(bytes));
		expect((await ok.info).mode).toBe('single');
		origin.fault(path, () => ({ corruptByteAt: middle }));
		const bad = new ParallelGetStream(url, { ...options, integrity });
		const { error, delivered } = await readToError(bad.readable);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY' });
		expect(delivered).toBeLessThan(size);
	});

	it("'single' mode larger than the window: the piece held back counts against the window (maxBufferedBytes over 2 x concurrency x chunkSize)", async () => {
		const { url, bytes, digest } = object();
		const download = new ParallelGetStream(url, { concurrency: 1, chunkSize: 16 * KiB, integrity: `sha256-${base64(digest('sha256'))}` });
		expect((await drain(download.readable)).sha256).toBe(sha256(bytes));
		expect(download.stats.maxBufferedBytes).toBeLessThanOrEqual(2 * 16 * KiB);
	});

	it('the ponyfill entry verifies too', async () => {
		const { path, url, bytes, digest } = object();
		const integrity = `sha256-${base64(digest('sha256'))}`;
		const ok = new Ponyfill(url, { chunkSize, integrity });
		expect((await drain(ok.readable as ReadableStream<Uint8Array>)).sha256).toBe(sha256(bytes));
		origin.fault(path, () => ({ corruptByteAt: middle }));
		const bad = new Ponyfill(url, { chunkSize, integrity });
		const { error, delivered } = await readToError(bad.readable as ReadableStream<Uint8Array>);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY' });
		expect(delivered).toBeLessThan(size);
	});

	it('no Want-Repr-Digest when the caller gave the digest', async () => {
		const { path, url, digest } = object();
		await drain(new ParallelGetStream(url, { integrity: `md5-${base64(digest('md5'))}` }).readable);
		expect(origin.requestsTo(path).every((record) => record.headers['want-repr-digest'] === undefined)).toBe(true);
	});
});

describe('digests the server declares', () => {
	const whole: [DigestHeader, string, DigestAlgorithm, boolean][] = [
		// header, source in info, algorithm, valid on a 206
		['repr-digest', 'repr-digest', 'sha512', true],
		['x-goog-hash', 'x-goog-hash', 'md5', true],
		['x-ms-blob-content-md5', 'x-ms-blob-content-md5', 'md5', true],
		['content-digest', 'content-digest', 'sha256', false],
		['content-md5', 'content-md5', 'md5', false],
		['x-amz-checksum-sha256', 'x-amz-checksum-sha256', 'sha256', false],
		['x-amz-checksum-crc64nvme', 'x-amz-checksum-crc64nvme', 'crc64nvme', false],
		['x-amz-checksum-crc32c', 'x-amz-checksum-crc32c', 'crc32c', false],
	];

	it.each(whole)('%s: found, verified, and a flipped byte fails ERR_INTEGRITY', async (header, source, algorithm, onRanges) => {
		// A header valid only on a 200 is tried on a server that answers 200 (one GET).
		const { path, url, bytes, digest } = object({ digests: [header], acceptRanges: onRanges });
		const ok = new ParallelGetStream(url);
		expect((await drain(ok.readable)).sha256).toBe(sha256(bytes));
		const info = await ok.info;
		expect(info.mode).toBe(onRanges ? 'parallel' : 'single');
		expect(info.digest).toEqual({ algorithm, source, value: base64(digest(algorithm)) });
		origin.fault(path, () => ({ corruptByteAt: middle }));
		const bad = new ParallelGetStream(url);
		const { error, delivered } = await readToError(bad.readable);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY', algorithm, source, expected: base64(digest(algorithm)) });
		expect(delivered).toBeLessThan(size);
	});

	it.each(['content-digest', 'content-md5'] as const)('%s on a 206 is of the part, not the object: ignored', async (header) => {
		const { path, url, bytes } = object({ digests: [header] });
		origin.fault(path, () => ({ corruptByteAt: middle }));
		const download = new ParallelGetStream(url);
		const out = await drain(download.readable);
		expect(out.length).toBe(size);
		expect(out.sha256).not.toBe(sha256(bytes));
		expect((await download.info).digest).toBeUndefined();
	});

	it('an S3 composite checksum (`-N`) is not a digest of the bytes: ignored', async () => {
		const { url, bytes } = object({ digests: ['x-amz-checksum-composite'], acceptRanges: false });
		const download = new ParallelGetStream(url);
		expect((await drain(download.readable)).sha256).toBe(sha256(bytes));
		expect((await download.info).digest).toBeUndefined();
	});

	it('verify: false ignores them', async () => {
		const { path, url } = object({ digests: ['repr-digest'] });
		origin.fault(path, () => ({ corruptByteAt: middle }));
		const download = new ParallelGetStream(url, { verify: false });
		expect((await drain(download.readable)).length).toBe(size);
		expect((await download.info).digest).toBeUndefined();
		expect(origin.requestsTo(path).every((record) => record.headers['want-repr-digest'] === undefined)).toBe(true);
	});

	it('the caller\'s integrity wins over the server\'s digest', async () => {
		const { url, digest } = object({ digests: ['repr-digest'] });
		const download = new ParallelGetStream(url, { integrity: `crc32c-${base64(digest('crc32c'))}` });
		await drain(download.readable);
		expect((await download.info).digest).toMatchObject({ algorithm: 'crc32c', source: 'integrity' });
	});

	it('Want-Repr-Digest asks for one on every request (no CORS outside a page)', async () => {
		const { path, url } = object();
		await drain(new ParallelGetStream(url).readable);
		const records = origin.requestsTo(path);
		expect(records.length).toBeGreaterThan(1);
		for (const record of records) expect(record.headers['want-repr-digest']).toBe('sha-512=3, sha-256=5');
	});

	it('a digest header that changes between responses is a changed revision', async () => {
		const { path, url } = object({ digests: ['repr-digest'] });
		const other = `sha-512=:${base64(new Uint8Array(64))}:`;
		origin.fault(path, ({ count }) => (count === 2 ? { headers: { 'Repr-Digest': other } } : undefined));
		const download = new ParallelGetStream(url);
		const { error, delivered } = await readToError(download.readable);
		expect(isRevisionChangedError(error)).toBe(true);
		expect(error).toMatchObject({ code: 'ERR_REVISION_CHANGED', received: base64(new Uint8Array(64)) });
		expect(delivered).toBeLessThan(size);
	});

	it('a later response without the header is not held against the object', async () => {
		const { path, url, bytes } = object({ digests: ['x-goog-hash'] });
		origin.fault(path, ({ count }) => (count > 1 ? { headers: { 'x-goog-hash': '' } } : undefined));
		const download = new ParallelGetStream(url);
		expect((await drain(download.readable)).sha256).toBe(sha256(bytes));
	});
});

describe('serverDigest - which headers describe the whole object', () => {
	const sha256 = base64(new Uint8Array(32).fill(7));
	const md5 = base64(new Uint8Array(16).fill(9));
	const response = (status: number, headers: Record<string, string>): Response => new Response(status === 204 ? null : 'x', { status, headers });

	it('Content-Digest and Content-MD5 only on a 200 without Content-Encoding', () => {
		expect(serverDigest(response(200, { 'content-digest': `sha-256=:${sha256}:` }))).toMatchObject({ algorithm: 'sha256', source: 'content-digest' });
		expect(serverDigest(response(206, { 'content-digest': `sha-256=:${sha256}:`, 'content-md5': md5 }))).toBeUndefined();
		expect(serverDigest(response(200, { 'content-digest': `sha-256=:${sha256}:`, 'content-encoding': 'gzip' }))).toBeUndefined();
		expect(serverDigest(response(200, { 'repr-digest': `sha-256=:${sha256}:`, 'content-encoding': 'br' }))).toBeUndefined();
	});

	it('no digest from an error status', () => {
		expect(serverDigest(response(404, { 'repr-digest': `sha-256=:${sha256}:` }))).toBeUndefined();
		expect(serverDigest(response(416, { 'x-goog-hash': `md5=${md5}` }))).toBeUndefined();
	});

	it('S3: a composite checksum, by its suffix or by x-amz-checksum-type, is ignored; a full-object one on a 200 is taken', () => {
		expect(serverDigest(response(200, { 'x-amz-checksum-crc32c': 'AAAAAA==-3' }))).toBeUndefined();
		expect(serverDigest(response(200, { 'x-amz-checksum-crc32c': 'AAAAAA==', 'x-amz-checksum-type': 'COMPOSITE' }))).toBeUndefined();
		expect(serverDigest(response(200, { 'x-amz-checksum-crc32c': 'AAAAAA==', 'x-amz-checksum-type': 'FULL_OBJECT' }))).toMatchObject({ algorithm: 'crc32c' });
		expect(serverDigest(response(206, { 'x-amz-checksum-crc64nvme': 'AAAAAAAAAAA=' }))).toBeUndefined();
	});

	it('the strongest of several headers and members; unknown members and bad values skipped', () => {
		const found = serverDigest(response(206, { 'repr-digest': `unixsum=:AAAA:, sha-256=:${sha256}:, sha-512=:short:`, 'x-goog-hash': `crc32c=AAAAAA==, md5=${md5}` }));
		expect(found).toMatchObject({ algorithm: 'sha256', source: 'repr-digest' });
		expect(serverDigest(response(206, { 'x-goog-hash': `crc32c=AAAAAA==, md5=${md5}` }))).toMatchObject({ algorithm: 'md5', source: 'x-goog-hash' });
	});
});

// Mutation testing: these held back more than the last piece, or left out the last progress report, unseen.
describe('what is held back, and the end of a verified download', () => {
	it('only a piece that may end the object is held back: the first chunk goes out while its body is still arriving', async () => {
		const { path, url, digest } = object();
		// The first chunk's body stops for good 1000 bytes in: what came must still reach the reader.
		origin.fault(path, (request) => (request.range?.start === 0 ? { stallAfterBytes: 1000 } : undefined));
		const download = new ParallelGetStream(url, { integrity: `sha256-${base64(digest('sha256'))}`, stallTimeout: false });
		const reader = download.readable.getReader();
		const { value } = await reader.read();
		expect(value?.byteLength).toBeGreaterThan(0);
		expect(value?.byteLength).toBeLessThanOrEqual(1000);
		await reader.cancel('done');
		origin.fault(path, undefined);
		await origin.whenIdle();
	});

	it('the last progress report comes with the piece held back: loaded reaches the size', async () => {
		const { url, bytes, digest } = object();
		const reports: number[] = [];
		const download = new ParallelGetStream(url, { integrity: `crc32c-${base64(digest('crc32c'))}`, onProgress: ({ loaded }) => void reports.push(loaded) });
		expect((await drain(download.readable)).sha256).toBe(sha256(bytes));
		expect(reports.at(-1)).toBe(size);
		expect(download.stats.loaded).toBe(size);
	});
});
