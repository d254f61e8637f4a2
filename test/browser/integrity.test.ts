/**
 * Chromium (issue 14): a page verifies a sha256 given as `integrity`, by WebAssembly (hash-wasm
 * through the import map), and errors before the last piece on a flipped byte; the
 * service-worker example verifies the origin's Repr-Digest (sha-256), so that the page's plain
 * fetch() of a corrupted file ends in a network error, never in a clean end.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../support/collect.ts';
import { base64, digestOf } from '../support/digests.ts';
import { objectSlice } from '../support/object.ts';
import type { Origin } from '../support/origin.ts';
import { buildServiceWorkerExample, openControlled } from './support/bundle.ts';
import { describeChromium, usePage } from './support/chromium.ts';
import { type DownloadResult, openHarness, type PageOptions, startSite } from './support/site.ts';

const KiB = 1024;
const SIZE = 1024 * KiB + 4321;
const CHUNK = 128 * KiB;

describeChromium('Chromium: integrity', () => {
	const chromium = usePage();
	let site: Origin;
	let example: Awaited<ReturnType<typeof buildServiceWorkerExample>>;

	beforeAll(async () => {
		[site, example] = await Promise.all([startSite(), buildServiceWorkerExample()]);
		site.serveDir('/app/', example.dir);
	});
	afterAll(async () => {
		await site?.close();
		await example?.remove();
	});

	function download(url: string, options: PageOptions): Promise<DownloadResult> {
		return chromium.page.evaluate(([href, opts]) => window.harness.download(href, opts), [url, { chunkSize: CHUNK, concurrency: 4, ...options }] as const);
	}

	describe('a page', () => {
		beforeEach(async () => {
			await openHarness(chromium.page, site);
		});

		it('verifies a sha256 given as integrity, and fails a flipped byte with ERR_INTEGRITY before the last piece', async () => {
			site.put('/page/integrity.bin', { size: SIZE, seed: 41 });
			const bytes = objectSlice(SIZE, 41, 0, SIZE);
			const integrity = `sha256-${base64(digestOf('sha256', bytes))}`;
			const ok = await download(site.url('/page/integrity.bin'), { integrity });
			expect(ok.error).toBeUndefined();
			expect(ok.sha256).toBe(sha256(bytes));
			expect(ok.info?.digest).toEqual({ algorithm: 'sha256', source: 'integrity', value: integrity.slice(7) });

			site.fault('/page/integrity.bin', () => ({ corruptByteAt: 3 * CHUNK + 5 }));
			const bad = await download(site.url('/page/integrity.bin'), { integrity });
			expect(bad.error).toMatchObject({ name: 'IntegrityError', code: 'ERR_INTEGRITY', isParallelGetError: true });
			expect(bad.length).toBeLessThan(SIZE);
		});

		it('verifies the Repr-Digest of its own origin (asked for with Want-Repr-Digest: same origin, no preflight)', async () => {
			site.put('/page/repr.bin', { size: SIZE, seed: 42, digests: ['repr-digest-sha256'] });
			site.fault('/page/repr.bin', () => ({ corruptByteAt: 5 }));
			site.resetStats();
			const bad = await download(site.url('/page/repr.bin'), {});
			expect(bad.error).toMatchObject({ code: 'ERR_INTEGRITY' });
			expect(bad.length).toBeLessThan(SIZE);
			const records = site.requestsTo('/page/repr.bin');
			expect(records.every((record) => record.method === 'GET' && record.headers['want-repr-digest'] === 'sha-512=3, sha-256=5')).toBe(true);
		});
	});

	describe('the service-worker example', () => {
		beforeEach(async () => {
			await openControlled(chromium.page, site.url('/app/index.html'));
		});

		/** The page's plain fetch() of `path`, which the worker answers with parallelGet(). */
		function fetchOnPage(path: string): Promise<{ status: number; length: number; sha256: string; error: string | undefined }> {
			return chromium.page.evaluate(async (href) => {
				const response = await fetch(href);
				const reader = (response.body as ReadableStream<Uint8Array>).getReader();
				const pieces: Uint8Array[] = [];
				let length = 0;
				let error: string | undefined;
				try {
					for (;;) {
						const { done, value } = await reader.read();
						if (done) break;
						pieces.push(value);
						length += value.byteLength;
					}
				} catch (caught) {
					error = (caught as Error).name;
				}
				const all = new Uint8Array(length);
				let at = 0;
				for (const piece of pieces) {
					all.set(piece, at);
					at += piece.byteLength;
				}
				const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
				return { status: response.status, length, sha256: Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join(''), error };
			}, path);
		}

		it('verifies the origin\'s sha-256 Repr-Digest: the right bytes end cleanly, a flipped byte ends in a network error short of the end', async () => {
			// Beyond the example's 8 MiB chunk, so that the worker reads it in two ranges.
			const size = 8 * 1024 * KiB + 12_345;
			site.put('/large/verified.bin', { size, seed: 43, digests: ['repr-digest-sha256'] });
			const ok = await fetchOnPage('/large/verified.bin');
			expect(ok).toMatchObject({ status: 200, length: size, error: undefined });
			expect(ok.sha256).toBe(sha256(objectSlice(size, 43, 0, size)));

			site.put('/large/corrupt.bin', { size, seed: 44, digests: ['repr-digest-sha256'] });
			site.fault('/large/corrupt.bin', () => ({ corruptByteAt: 1000 }));
			const bad = await fetchOnPage('/large/corrupt.bin');
			expect(bad.status).toBe(200);
			expect(bad.error).toBe('TypeError');
			expect(bad.length).toBeLessThan(size);
		});
	});
});
