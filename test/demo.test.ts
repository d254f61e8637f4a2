/**
 * `npm run demo` in a small, fast configuration, and the pieces it is built from: the tar
 * writer and reader, and the gzip built from separately deflated segments.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildArchive } from '../examples/demo/archive.ts';
import { GzipBuilder } from '../examples/demo/gzip.ts';
import { TarFormatError, TarLister } from '../examples/demo/tar-reader.ts';
import { tar, tarHeader } from '../examples/demo/tar-writer.ts';

const node = resolve('node_modules/.bin/node');

function sha256(bytes: Uint8Array): string {
	return createHash('sha256').update(bytes).digest('hex');
}

/** Feeds `bytes` to a TarLister in pieces of `piece` bytes, so headers straddle writes. */
async function list(bytes: Uint8Array, piece: number): Promise<TarLister> {
	const lister = new TarLister();
	const writer = lister.writable.getWriter();
	for (let offset = 0; offset < bytes.byteLength; offset += piece) await writer.write(bytes.subarray(offset, offset + piece));
	await writer.close();
	return lister;
}

describe('demo tar writer and reader', () => {
	const files = [
		{ name: 'a/empty', data: new Uint8Array(0) },
		{ name: 'a/one-block', data: new Uint8Array(512).fill(7) },
		{ name: 'b/odd', data: Uint8Array.from({ length: 1000 }, (_, index) => index % 251) },
	];
	const archive = Buffer.concat([...tar(files.map((file) => ({ name: file.name, size: file.data.byteLength, content: () => [file.data] })))]);

	it.each([1, 100, 512, 4096])('lists names, sizes and hashes, written in pieces of %d bytes', async (piece) => {
		const lister = await list(archive, piece);
		expect(lister.entries).toEqual(files.map((file) => ({ name: file.name, size: file.data.byteLength, sha256: sha256(file.data) })));
	});

	it('writes whole blocks: headers, padded content, two zero blocks', () => {
		expect(archive.byteLength).toBe(512 * 3 + 0 + 512 + 1024 + 1024);
	});

	it('refuses a corrupt header and a truncated archive', async () => {
		const corrupt = Buffer.from(archive);
		corrupt[0] = 0x5a;
		await expect(list(corrupt, 512)).rejects.toBeInstanceOf(TarFormatError);
		await expect(list(archive.subarray(0, 1024), 512)).rejects.toThrow(/ended before/);
		expect(() => tarHeader('x'.repeat(101), 1)).toThrow(RangeError);
	});
});

describe('demo gzip from separately deflated segments', () => {
	it('decodes to the concatenation, with stored and compressed segments mixed', () => {
		const gzip = new GzipBuilder();
		const parts = [new Uint8Array(70_000).fill(1), Uint8Array.from({ length: 5000 }, (_, index) => (index * 7919) % 256), new TextEncoder().encode('text '.repeat(1000))];
		gzip.add(parts[0] as Uint8Array, 0);
		gzip.add(parts[1] as Uint8Array, 1);
		gzip.add(parts[2] as Uint8Array, 6);
		expect(sha256(gunzipSync(gzip.finish()))).toBe(sha256(Buffer.concat(parts)));
	});

	it('buildArchive: a .tar.gz of about the size asked for, whose listing is the files packed', async () => {
		const archive = buildArchive(2 * 1024 * 1024);
		expect(archive.bytes.byteLength).toBeGreaterThan(1.9 * 1024 * 1024);
		expect(archive.bytes.byteLength).toBeLessThan(2.2 * 1024 * 1024);
		expect(sha256(archive.bytes)).toBe(archive.sha256);
		const lister = await list(gunzipSync(archive.bytes), 65_536);
		expect(lister.entries).toEqual(archive.files);
		// Deterministic: the same bytes on every run.
		expect(buildArchive(2 * 1024 * 1024).sha256).toBe(archive.sha256);
	});
});

describe('npm run demo', () => {
	it('downloads the archive both ways and prints matching hashes (small, fast configuration)', async () => {
		const child = spawn(node, ['examples/demo/run.ts'], {
			env: { ...process.env, DEMO_SIZE: '3M', DEMO_CHUNK_SIZE: '256k', DEMO_RATE: '16M', DEMO_CONCURRENCY: '4' },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
		child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
		const code = await new Promise<number | null>((done) => child.on('close', done));
		expect(stderr).toBe('');
		expect(code).toBe(0);
		const hashes = [...stdout.matchAll(/^\s*(?:sha256\s+)?(fetch\(\)|ParallelGetStream|origin)\s+([0-9a-f]{64})$/gm)].map((match) => match[2]);
		expect(hashes).toHaveLength(3);
		expect(new Set(hashes).size).toBe(1);
		expect(stdout).toMatch(/hashes: {3}match; files: all \d+ match what was packed/);
		// Concurrency 4, plus up to one request per slot started early as its previous one ends (overlap).
		expect(stdout).toMatch(/range requests, [4-8] at once/);
		expect(stdout).toMatch(/speed-up: \d+\.\dx/);
	});
});
