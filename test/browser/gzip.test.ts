/**
 * Chromium: a gzip file downloaded in parallel chunks and decompressed with the browser's own
 * DecompressionStream while it downloads. Ranges address the stored (compressed) bytes, which is
 * what makes this work: the server sends the .gz as it is, without Content-Encoding.
 */
import { gzipSync } from 'node:zlib';
import { beforeAll, expect, it } from 'vitest';
import { objectBytes, objectSha256 } from '../support/object.ts';
import { describeChromium, usePage } from './support/chromium.ts';
import { expectChunkRuns } from '../support/runs.ts';
import { useHarness } from './support/site.ts';

const SIZE = 3 * 1024 * 1024 + 12_345;
const SEED = 41;
const CHUNK = 128 * 1024;

describeChromium('Chromium: a .gz piped to DecompressionStream', () => {
	const chromium = usePage();
	const harness = useHarness(chromium);
	let gz: Uint8Array;

	beforeAll(() => {
		gz = gzipSync(objectBytes(SIZE, SEED), { level: 6 });
	});

	it('decompresses while downloading, in order, and the output hashes to the original', async () => {
		harness.site.put('/data/object.bin.gz', { body: gz, contentType: 'application/gzip' });
		const url = harness.site.url('/data/object.bin.gz');
		const result = await chromium.page.evaluate(
			([href, chunkSize]) => window.harness.download(href, { chunkSize, concurrency: 4, hedge: false }, { gunzip: true }),
			[url, CHUNK] as const,
		);

		expect(result.error).toBeUndefined();
		expect(result.sha256).toBe(await objectSha256(SIZE, SEED));
		expect(result.length).toBe(SIZE);
		expect(result.info).toMatchObject({ mode: 'parallel', size: gz.byteLength, contentType: 'application/gzip' });
		// The first decompressed bytes came out while most of the file was still to be handed over:
		// the decompressor is fed as the chunks arrive, not after the download.
		expect(result.loadedAtFirstPiece).toBeGreaterThan(0);
		expect(result.loadedAtFirstPiece).toBeLessThan(gz.byteLength / 2);
		expect(result.stats.maxInFlight).toBeGreaterThan(1);
		expect(result.stats.loaded).toBe(gz.byteLength);

		// Range requests for one or two chunks each; together they cover the file exactly once.
		const gets = harness.site.requestsTo('/data/object.bin.gz').filter((record) => record.method === 'GET');
		expectChunkRuns(gets.map((record) => record.range), gz.byteLength, CHUNK);
		// Discovery is unpinned; every later chunk is pinned to the ETag the first answer carried.
		const etag = harness.site.get('/data/object.bin.gz')?.etag;
		expect(gets[0]?.headers['if-match']).toBeUndefined();
		for (const record of gets.slice(1)) expect(record.headers['if-match']).toBe(etag);
		// Fetch adds `Accept-Encoding: identity` to Range requests: ranges of an encoded body would
		// not line up, so the browser itself asks for the stored bytes.
		for (const record of gets) expect(record.headers['accept-encoding']).toBe('identity');
	});

	it('parallelGet() gives a Response whose body pipes through DecompressionStream the same way', async () => {
		harness.site.put('/data/response.bin.gz', { body: gz, contentType: 'application/gzip' });
		const url = harness.site.url('/data/response.bin.gz');
		const result = await chromium.page.evaluate(
			async ([href, chunkSize]) => {
				const response = await window.library.parallelGet(href, { chunkSize, concurrency: 3, hedge: false });
				const text = await new Response(response.body?.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
				const digest = await crypto.subtle.digest('SHA-256', text);
				return {
					status: response.status,
					contentLength: response.headers.get('content-length'),
					contentType: response.headers.get('content-type'),
					sha256: Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join(''),
				};
			},
			[url, CHUNK] as const,
		);
		expect(result).toEqual({
			status: 200,
			contentLength: String(gz.byteLength),
			contentType: 'application/gzip',
			sha256: await objectSha256(SIZE, SEED),
		});
		const ranged = harness.site.requestsTo('/data/response.bin.gz').filter((record) => record.method === 'GET');
		expectChunkRuns(ranged.map((record) => record.range), gz.byteLength, CHUNK);
	});
});
