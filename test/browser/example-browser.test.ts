/**
 * Chromium runs `examples/browser/` as a user would serve it: the page, and the installed
 * packages under /node_modules/ (the built `dist/` standing in for an installed
 * parallel-get-stream), loaded through the page's import map.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { sha256 } from '../support/collect.ts';
import { objectBytes } from '../support/object.ts';
import { type Origin, startOrigin } from '../support/origin.ts';
import { describeChromium, until, usePage } from './support/chromium.ts';
import { chunkRanges, expectChunksAndHedges, root } from './support/site.ts';

/** A log-like text: numbered lines of hex, about 1.1 MB, that gzip to roughly half. */
function logText(): string {
	const bytes = objectBytes(512 * 1024, 77);
	const lines: string[] = [];
	for (let offset = 0; offset < bytes.byteLength; offset += 32) {
		lines.push(`${String(offset / 32).padStart(6, '0')} ${Buffer.from(bytes.subarray(offset, offset + 32)).toString('hex')}\n`);
	}
	return lines.join('');
}

describeChromium('Chromium: examples/browser', () => {
	const chromium = usePage();
	let site: Origin;
	let text: string;
	let gz: Uint8Array;

	beforeAll(async () => {
		text = logText();
		gz = gzipSync(text);
		site = await startOrigin();
		site.serveDir('/examples/browser/', `${root}examples/browser`);
		site.serveDir('/node_modules/parallel-get-stream/dist/', `${root}dist`);
		site.serveDir('/node_modules/hash-wasm/', `${root}node_modules/hash-wasm`);
	});
	afterAll(async () => {
		await site?.close();
	});
	beforeEach(() => {
		site.resetStats();
	});

	function open(path: string): Promise<unknown> {
		const query = new URLSearchParams({ url: site.url(path), concurrency: '4', chunkSize: '64' });
		return chromium.page.goto(site.url(`/examples/browser/index.html?${query}`));
	}

	it('downloads a .gz in parallel ranges and shows the decompressed text as it streams', async () => {
		site.put('/logs/app.log.gz', { body: gz, contentType: 'application/gzip' });
		await open('/logs/app.log.gz');
		await chromium.page.click('#start');
		await chromium.page.waitForSelector('#status[data-state=done]', { timeout: 30_000 });

		const shown = await chromium.page.$eval('#output', (element) => element.textContent ?? '');
		expect(shown.length).toBe(text.length);
		expect(sha256(Buffer.from(shown))).toBe(sha256(Buffer.from(text)));
		expect(await chromium.page.textContent('#status')).toContain('(parallel,');
		// One request per chunk; the example keeps the library defaults, so a chunk slowed by a busy
		// machine may have been hedged too (the rest of it, pinned): twice per chunk at most, as the
		// hedges that won do not use the budget up (the page does not say which won).
		const gets = site.requestsTo('/logs/app.log.gz').filter((record) => record.method === 'GET');
		const hedges = expectChunksAndHedges(gets, gz.byteLength, 64 * 1024, site.get('/logs/app.log.gz')?.etag);
		expect(hedges).toBeLessThanOrEqual(2 * chunkRanges(gz.byteLength, 64 * 1024).length);
	});

	it('the Stop button aborts the download and every range request', async () => {
		site.put('/logs/slow.log.gz', { body: gz, contentType: 'application/gzip' });
		site.fault('/logs/slow.log.gz', ({ range }) => (range && range.start > 0 ? { stallAfterBytes: 1024 } : undefined));
		await open('/logs/slow.log.gz');
		await chromium.page.click('#start');
		await until(
			() => site.requestsTo('/logs/slow.log.gz').filter((record) => record.bytesSent === 1024 && record.endedAt === undefined).length >= 4,
			'four stalled range requests',
		);
		await chromium.page.click('#stop');
		await chromium.page.waitForSelector('#status[data-state=stopped]', { timeout: 15_000 });
		await site.whenIdle(15_000);
		// The four stalled range requests, and any hedge of them (the example keeps the library's
		// defaults), were all closed: every GET but the first chunk's.
		const gets = site.requestsTo('/logs/slow.log.gz').filter((record) => record.method === 'GET');
		expect(gets.filter((record) => record.aborted)).toHaveLength(gets.length - 1);
		expect(gets.length).toBeGreaterThanOrEqual(5);
	});
});
