/**
 * Resume later with a digest to verify (issues 14 and 15): the checkpoint carries the hash of the
 * bytes before its offset, so that the resumed download verifies the whole object, not only the
 * bytes it fetched itself. A byte flipped before the offset (read by the first run) or after it
 * (read by the resumed one) fails the resumed download with ERR_INTEGRITY, never a clean end; a
 * hash of another algorithm or digest is refused at construction, and so is `integrity` with a
 * checkpoint past 0 that carries no hash.
 */
import { describe, expect, it, vi } from 'vitest';
import * as native from '../src/index.ts';
import { prefixHash } from '../src/integrity/prefix-hash.ts';
import { readSome, rejection, sha256 } from './support/collect.ts';
import { base64, digestOf } from './support/digests.ts';
import { useOrigin } from './support/use-origin.ts';

const KiB = 1024;
const size = 512 * KiB + 123;
const chunkSize = 100_003;
const fast = { chunkSize, concurrency: 3, retry: { limit: 2, delay: () => 1, jitter: false }, hedge: false, overlap: false } as const;

const origin = useOrigin();

let paths = 0;
function object(digests: 'repr-digest'[] = [], length = size): { path: string; url: string; bytes: Uint8Array } {
	const path = `/resume-integrity-${++paths}.bin`;
	const bytes = origin.put(path, { size: length, seed: 300 + paths, digests }).slice();
	return { path, url: origin.url(path), bytes };
}


/** Reads to the end, or to the error; the bytes read and the error. */
async function readOut(readable: ReadableStream<Uint8Array>): Promise<{ bytes: Uint8Array; error: unknown }> {
	const pieces: Uint8Array[] = [];
	try {
		for await (const piece of readable as unknown as AsyncIterable<Uint8Array>) pieces.push(piece);
		return { bytes: Buffer.concat(pieces), error: undefined };
	} catch (error) {
		return { bytes: Buffer.concat(pieces), error };
	}
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
	const copy = bytes.slice();
	copy[at] = (copy[at] as number) ^ 0xff;
	return copy;
}

/** A first run that reads `target` bytes and stops; its checkpoint through JSON, and what it read. */
async function firstRun(url: string, integrity: string | undefined, target: number): Promise<{ checkpoint: native.Checkpoint; head: Uint8Array }> {
	const download = new native.ParallelGetStream(url, { ...fast, ...(integrity ? { integrity } : {}) });
	await download.info;
	const head = target === 0 ? (await download.readable.cancel('stopped'), new Uint8Array(0)) : await readSome(download.readable, target);
	const checkpoint = download.checkpoint();
	expect(checkpoint?.offset).toBe(head.byteLength);
	return { checkpoint: JSON.parse(JSON.stringify(checkpoint)) as native.Checkpoint, head };
}

// CRC-64/NVME and CRC-32C are hashed by hash-wasm in every runtime: its state is saved in the checkpoint.
describe.each(['crc64nvme', 'crc32c'] as const)('resume with integrity (%s): the checkpoint carries the hash, the whole object is verified', (algorithm) => {
	it.each([
		['at 0', 0],
		['mid-chunk', 150 * KiB],
		['in the last chunk (a piece held back)', size - 10],
		['at the end', size],
	])('%s: the object, verified', async (_, target) => {
		const { url, bytes } = object();
		const integrity = `${algorithm}-${base64(digestOf(algorithm, bytes))}`;
		const { checkpoint, head } = await firstRun(url, integrity, target);
		if (checkpoint.offset > 0) expect(checkpoint.hash).toMatchObject({ algorithm, digest: base64(digestOf(algorithm, bytes)), source: 'integrity', length: checkpoint.offset });
		const rest = new native.ParallelGetStream(url, { ...fast, integrity, resume: checkpoint });
		const { bytes: tail, error } = await readOut(rest.readable);
		expect(error).toBeUndefined();
		expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(bytes));
		expect((await rest.info).digest).toMatchObject({ algorithm, source: 'integrity' });
		// The resumed download's own checkpoint carries the whole object's hash on.
		expect(rest.checkpoint()).toMatchObject({ offset: size, hash: { algorithm, length: size } });
	});

	it.each([
		['before the offset (read by the first run)', 'first', 40 * KiB],
		['after the offset (read by the resumed run)', 'resumed', 400 * KiB],
	] as const)('a byte flipped %s: ERR_INTEGRITY, the last piece never handed out', async (_, run, at) => {
		const { path, url, bytes } = object();
		const integrity = `${algorithm}-${base64(digestOf(algorithm, bytes))}`;
		let resumed = false;
		origin.fault(path, () => ((run === 'first') !== resumed ? { corruptByteAt: at } : undefined));
		const { checkpoint, head } = await firstRun(url, integrity, 150 * KiB);
		resumed = true;
		const rest = new native.ParallelGetStream(url, { ...fast, integrity, resume: checkpoint });
		const { bytes: tail, error } = await readOut(rest.readable);
		origin.fault(path, undefined);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY', algorithm, expected: base64(digestOf(algorithm, bytes)), actual: base64(digestOf(algorithm, flip(bytes, at))) });
		expect(head.byteLength + tail.byteLength).toBeLessThan(size);
		// Bytes that failed verification are never continued.
		expect(rest.checkpoint()).toBeUndefined();
	});
});

describe('resume with integrity: what cannot verify the whole object is refused at construction', () => {
	const bytes = new Uint8Array(1000).fill(7);
	const crc = `crc64nvme-${base64(digestOf('crc64nvme', bytes))}`;
	async function checkpointAt(offset: number): Promise<native.Checkpoint> {
		const { checkpoint } = { checkpoint: { url: 'u', offset, size: bytes.byteLength, etag: '"e"' } };
		const hash = await prefixHash({ algorithm: 'crc64nvme', values: [digestOf('crc64nvme', bytes)], encoding: 'base64', source: 'integrity' }, [bytes.subarray(0, offset)]);
		return { ...checkpoint, hash };
	}

	it('a hash of another algorithm, or of another digest: TypeError naming resume.hash', async () => {
		const resume = await checkpointAt(500);
		expect(() => new native.ParallelGetStream('http://127.0.0.1:9/x', { integrity: `crc32c-${base64(digestOf('crc32c', bytes))}`, resume })).toThrow(
			/`resume\.hash` to be of `integrity`'s algorithm \(crc32c\), got crc64nvme/,
		);
		expect(() => new native.ParallelGetStream('http://127.0.0.1:9/x', { integrity: `crc64nvme-${base64(digestOf('crc64nvme', bytes.subarray(1)))}`, resume })).toThrow(TypeError);
	});

	it('an offset moved away from the hash (`{ ...checkpoint(), offset: written }`): TypeError', async () => {
		const resume = { ...(await checkpointAt(500)), offset: 400 };
		expect(() => new native.ParallelGetStream('http://127.0.0.1:9/x', { integrity: crc, resume })).toThrow(/`resume\.hash\.length` to be `resume\.offset` \(400\)/);
	});

	it.each([
		['no algorithm', { algorithm: 'sha1' }],
		['a digest of the wrong length', { digest: 'AAAA' }],
		['a state that is not base64', { state: '***' }],
	])('a malformed hash (%s): TypeError', async (_, change) => {
		const resume = await checkpointAt(500);
		expect(() => new native.ParallelGetStream('http://127.0.0.1:9/x', { integrity: crc, resume: { ...resume, hash: { ...resume.hash, ...change } as native.Checkpoint['hash'] } })).toThrow(TypeError);
	});

	it('integrity with a checkpoint past 0 without a hash: TypeError naming both options; at 0 there is nothing to prove', () => {
		const resume = { url: 'u', offset: 500, size: 1000, etag: '"e"' };
		expect(() => new native.ParallelGetStream('http://127.0.0.1:9/x', { integrity: crc, resume })).toThrow(/`resume` to carry the hash .*`resume\.hash`.*`integrity`/);
		expect(() => new native.ParallelGetStream('http://127.0.0.1:9/x', { integrity: crc, resume: { ...resume, offset: 0 } })).not.toThrow();
	});

	it("a state that cannot be restored fails the download with a TypeError, never a clean end; the hash code's refusal is its cause", async () => {
		const { url, bytes: object_ } = object();
		const integrity = `crc64nvme-${base64(digestOf('crc64nvme', object_))}`;
		const { checkpoint } = await firstRun(url, integrity, 150 * KiB);
		const hash = { ...(checkpoint.hash as NonNullable<native.Checkpoint['hash']>), state: base64(new Uint8Array(40)) };
		const rest = new native.ParallelGetStream(url, { ...fast, integrity, resume: { ...checkpoint, hash } });
		const { error } = await readOut(rest.readable);
		expect(error).toBeInstanceOf(TypeError);
		expect((error as Error).message).toMatch(/resume\.hash\.state/);
		expect((error as Error).cause).toBeInstanceOf(Error);
	});
});

describe("resume with the server's digest", () => {
	it('Node hashes SHA-2 natively: the checkpoint has no hash, and the resumed download does not claim the digest', async () => {
		const { url, bytes } = object(['repr-digest']);
		const first = new native.ParallelGetStream(url, fast);
		expect((await first.info).digest).toMatchObject({ algorithm: 'sha512', source: 'repr-digest' });
		const head = await readSome(first.readable, 150 * KiB);
		const checkpoint = first.checkpoint() as native.Checkpoint;
		expect(checkpoint.hash).toBeUndefined();
		const rest = new native.ParallelGetStream(url, { ...fast, resume: checkpoint });
		const { bytes: tail, error } = await readOut(rest.readable);
		expect(error).toBeUndefined();
		expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(bytes));
		expect((await rest.info).digest).toBeUndefined();
	});

	it('with a hash of the prefix, verified over the whole object: a byte flipped before the offset fails ERR_INTEGRITY', async () => {
		const { path, url, bytes } = object(['repr-digest']);
		let resumed = false;
		origin.fault(path, () => (resumed ? undefined : { corruptByteAt: 1000 }));
		const first = new native.ParallelGetStream(url, fast);
		const head = await readSome(first.readable, 150 * KiB);
		resumed = true;
		const checkpoint = first.checkpoint() as native.Checkpoint;
		const hash = await prefixHash({ algorithm: 'sha512', values: [digestOf('sha512', bytes)], encoding: 'base64', source: 'repr-digest' }, [head]);
		const rest = new native.ParallelGetStream(url, { ...fast, resume: { ...checkpoint, hash } });
		expect((await rest.info).digest).toMatchObject({ algorithm: 'sha512', source: 'repr-digest' });
		const { error } = await readOut(rest.readable);
		origin.fault(path, undefined);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY', source: 'repr-digest', actual: base64(digestOf('sha512', flip(bytes, 1000))) });
	});

	it('after ERR_INTEGRITY, no checkpoint: what failed verification is never continued', async () => {
		const { path, url, bytes } = object();
		origin.fault(path, () => ({ corruptByteAt: 10 }));
		const download = new native.ParallelGetStream(url, { ...fast, integrity: `crc32c-${base64(digestOf('crc32c', bytes))}` });
		const error = await rejection(readOut(download.readable).then(({ error: e }) => Promise.reject(e)));
		origin.fault(path, undefined);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY' });
		expect(download.checkpoint()).toBeUndefined();
	});

	/** A first run of an object declaring its digest that reads 150 KiB; the resume point, its hash of the server's digest. */
	async function serverDigestResume(): Promise<{ url: string; path: string; bytes: Uint8Array; head: Uint8Array; resume: native.Checkpoint }> {
		const { url, path, bytes } = object(['repr-digest']);
		const first = new native.ParallelGetStream(url, fast);
		const digest = (await first.info).digest as NonNullable<native.DownloadInfo['digest']>;
		const head = await readSome(first.readable, 150 * KiB);
		const resume = await native.hashCheckpoint(first.checkpoint() as native.Checkpoint, [head], digest);
		return { url, path, bytes, head, resume };
	}

	it("the server's digest from before the checkpoint pins the revision: an answer declaring another fails RevisionChangedError", async () => {
		const { url, path, resume } = await serverDigestResume();
		// The same bytes and ETag, another digest: the object changed under a validator that did not.
		origin.fault(path, () => ({ headers: { 'repr-digest': `sha-512=:${base64(new Uint8Array(64))}:` } }));
		const { error } = await readOut(new native.ParallelGetStream(url, { ...fast, resume }).readable);
		expect(native.isRevisionChangedError(error)).toBe(true);
		expect(error).toMatchObject({ expected: resume.hash?.digest, received: base64(new Uint8Array(64)) });
		await origin.whenIdle();
	});

	it("with `verify: false`, the resumed download hashes nothing: its checkpoints carry no hash, whose state would be the first run's", async () => {
		const { url, bytes, head, resume } = await serverDigestResume();
		const rest = new native.ParallelGetStream(url, { ...fast, resume, verify: false });
		const more = await readSome(rest.readable, 100 * KiB);
		expect(Buffer.concat([head, more]).equals(bytes.subarray(0, head.byteLength + more.byteLength))).toBe(true);
		const checkpoint = rest.checkpoint();
		expect(checkpoint).toMatchObject({ offset: head.byteLength + more.byteLength });
		expect(checkpoint?.hash).toBeUndefined();
	});
});

describe('a resumed download checkpointed before its hash code has loaded', () => {
	it("carries the checkpoint's own hash on, so that it can be resumed again", async () => {
		const { url, bytes } = object();
		const integrity = `crc64nvme-${base64(digestOf('crc64nvme', bytes))}`;
		const { checkpoint, head } = await firstRun(url, integrity, 150 * KiB);
		const rest = new native.ParallelGetStream(url, { ...fast, integrity, resume: checkpoint });
		// At once: the pin and size are the checkpoint's, the hash code is still loading.
		const again = JSON.parse(JSON.stringify(rest.checkpoint())) as native.Checkpoint;
		await rest.readable.cancel('stopped');
		expect(again).toMatchObject({ offset: checkpoint.offset, hash: checkpoint.hash });
		const last = new native.ParallelGetStream(url, { ...fast, integrity, resume: again });
		const { bytes: tail, error } = await readOut(last.readable);
		expect(error).toBeUndefined();
		expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(bytes));
	});
});

// Found by the fault schedules (SEED=20261206 PATH_=79): once the digest matched, the piece held
// back was enqueued with no read waiting for it, so `loaded` and the checkpoint counted it for a
// consumer that cancelled before reading it, and a resume from there left it out.
describe('the piece held back counts once it is read, not when the digest matches', () => {
	it('a checkpoint after each read claims exactly the bytes read; one cancelled before the last piece resumes to the whole object', async () => {
		// The last chunk whole, in several pieces: the piece before the last is handed out as the last is held.
		const { url, bytes } = object([], 3 * chunkSize);
		const integrity = `crc64nvme-${base64(digestOf('crc64nvme', bytes))}`;
		const download = new native.ParallelGetStream(url, { ...fast, integrity });
		const reader = download.readable.getReader();
		const pieces: Uint8Array[] = [];
		const checkpoints: native.Checkpoint[] = [];
		const first = await reader.read();
		pieces.push(first.value as Uint8Array);
		// Every response has ended, here too: the digest is checked in the same pull() that hands out the piece before the last.
		await origin.whenIdle();
		await vi.waitFor(() => expect(download.stats).toMatchObject({ inFlight: 0, bytesReceived: bytes.byteLength }));
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			pieces.push(value);
			const read = pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
			const checkpoint = JSON.parse(JSON.stringify(download.checkpoint())) as native.Checkpoint;
			expect(checkpoint).toMatchObject({ offset: read, hash: { length: read } });
			checkpoints.push(checkpoint);
		}
		expect(sha256(Buffer.concat(pieces))).toBe(sha256(bytes));
		const beforeLast = checkpoints.at(-2) as native.Checkpoint;
		expect(beforeLast.offset).toBeLessThan(bytes.byteLength);
		const rest = new native.ParallelGetStream(url, { ...fast, integrity, resume: beforeLast });
		const { bytes: tail, error } = await readOut(rest.readable);
		expect(error).toBeUndefined();
		expect(sha256(Buffer.concat([bytes.subarray(0, beforeLast.offset), tail]))).toBe(sha256(bytes));
	});
});

// Node hashes SHA-2 and MD5 natively, whose state cannot be saved: `hashCheckpoint` re-hashes the
// bytes before the offset from where the caller wrote them, so that such a download can be resumed.
describe('hashCheckpoint: the hash of a checkpoint made from the bytes written', () => {
	it("a native sha256 download's checkpoint, refused by resume, resumes once hashed; the whole object is verified", async () => {
		const { url, bytes } = object();
		const integrity = `sha256-${base64(digestOf('sha256', bytes))}`;
		const { checkpoint, head } = await firstRun(url, integrity, 150 * KiB);
		expect(checkpoint.hash).toBeUndefined();
		expect(() => new native.ParallelGetStream(url, { ...fast, integrity, resume: checkpoint })).toThrow(TypeError);
		// The whole object as the prefix, as a file's stream would give it: only `offset` bytes are hashed.
		const resume = await native.hashCheckpoint(checkpoint, new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(), integrity);
		expect(resume).toMatchObject({ ...checkpoint, hash: { algorithm: 'sha256', digest: base64(digestOf('sha256', bytes)), source: 'integrity', length: head.byteLength } });
		const rest = new native.ParallelGetStream(url, { ...fast, integrity, resume });
		const { bytes: tail, error } = await readOut(rest.readable);
		expect(error).toBeUndefined();
		expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(bytes));
		expect((await rest.info).digest).toMatchObject({ algorithm: 'sha256', source: 'integrity' });
	});

	it('a prefix with a byte flipped (the file was damaged since): the resumed download fails ERR_INTEGRITY', async () => {
		const { url, bytes } = object();
		const integrity = `sha256:${Buffer.from(digestOf('sha256', bytes)).toString('hex')}`;
		const { checkpoint, head } = await firstRun(url, integrity, 150 * KiB);
		const resume = await native.hashCheckpoint(checkpoint, [flip(head, 1000)], integrity);
		const { error } = await readOut(new native.ParallelGetStream(url, { ...fast, integrity, resume }).readable);
		expect(error).toMatchObject({ code: 'ERR_INTEGRITY', algorithm: 'sha256', expected: Buffer.from(digestOf('sha256', bytes)).toString('hex') });
	});

	it("the server's digest, from the first run's info.digest: verified on over the whole object", async () => {
		const { url, bytes } = object(['repr-digest']);
		const first = new native.ParallelGetStream(url, fast);
		const digest = (await first.info).digest as NonNullable<native.DownloadInfo['digest']>;
		const head = await readSome(first.readable, 150 * KiB);
		const resume = await native.hashCheckpoint(first.checkpoint() as native.Checkpoint, [head.subarray(0, 1000), head.subarray(1000)], JSON.parse(JSON.stringify(digest)) as typeof digest);
		const rest = new native.ParallelGetStream(url, { ...fast, resume });
		const { bytes: tail, error } = await readOut(rest.readable);
		expect(error).toBeUndefined();
		expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(bytes));
		expect((await rest.info).digest).toMatchObject({ algorithm: 'sha512', source: 'repr-digest' });
	});

	it('a prefix shorter than the offset is a RangeError; a digest that is neither is a TypeError', async () => {
		const { url, bytes } = object();
		const integrity = `md5-${base64(digestOf('md5', bytes))}`;
		const { checkpoint, head } = await firstRun(url, integrity, 150 * KiB);
		await expect(native.hashCheckpoint(checkpoint, [head.subarray(1)], integrity)).rejects.toThrow(RangeError);
		await expect(native.hashCheckpoint(checkpoint, [head], 'md5-short')).rejects.toThrow(TypeError);
		await expect(native.hashCheckpoint(checkpoint, [head], { algorithm: 'md4', source: 'content-md5', value: base64(digestOf('md5', bytes)) })).rejects.toThrow(/info\.digest/);
		const resume = await native.hashCheckpoint(checkpoint, [head], integrity);
		expect(resume.hash).toMatchObject({ algorithm: 'md5', length: checkpoint.offset });
	});
});
