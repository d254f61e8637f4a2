/**
 * Chromium: the service-worker example (`examples/service-worker/`), bundled as its comment says.
 * The page makes one plain fetch(); the worker answers with `parallelGet(request)`, so the page
 * reads one ordinary streamed response while the origin sees parallel range requests. Stopping on
 * the page (cancelling the body, aborting the fetch) reaches the worker's download and ends every
 * range request at the origin.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { objectSha256 } from '../support/object.ts';
import type { Origin, RequestRecord } from '../support/origin.ts';
import { startOrigin } from '../support/origin.ts';
import { buildServiceWorkerExample, openControlled } from './support/bundle.ts';
import { describeChromium, until, usePage } from './support/chromium.ts';
import { expectChunksAndHedges } from './support/site.ts';

const MiB = 1024 * 1024;
/** The example keeps the library's default chunk size. */
const CHUNK = 8 * MiB;
const SIZE = 4 * CHUNK - 1000;
const STALL_AFTER = 64 * 1024;

interface Stopper {
	controller: AbortController;
	reader: ReadableStreamDefaultReader<Uint8Array>;
}

const gets = (records: RequestRecord[]): RequestRecord[] => records.filter((record) => record.method === 'GET');

describeChromium('Chromium: service worker answering with parallelGet()', () => {
	const chromium = usePage();
	let site: Origin;
	let example: Awaited<ReturnType<typeof buildServiceWorkerExample>>;

	beforeAll(async () => {
		[site, example] = await Promise.all([startOrigin(), buildServiceWorkerExample()]);
		site.serveDir('/app/', example.dir);
	});
	afterAll(async () => {
		await site?.close();
		await example?.remove();
	});
	beforeEach(async () => {
		await openControlled(chromium.page, site.url('/app/index.html'));
		site.resetStats();
	});

	/**
	 * Starts a fetch of `path` on the page and reads `count` bytes of it; the chunks after the
	 * first (and tails of them taken over by free slots) stall at the origin after a few bytes, so
	 * they are in flight when the page stops.
	 */
	async function startStalled(path: string): Promise<void> {
		site.put(path, { size: SIZE, seed: 7 });
		site.fault(path, ({ range }) => (range && range.start >= CHUNK ? { stallAfterBytes: STALL_AFTER } : undefined));
		const read = await chromium.page.evaluate(
			async ([href, count]) => {
				const controller = new AbortController();
				const response = await fetch(href, { signal: controller.signal });
				const reader = (response.body as ReadableStream<Uint8Array>).getReader();
				let length = 0;
				while (length < count) {
					const { done, value } = await reader.read();
					if (done) break;
					length += value.byteLength;
				}
				(window as unknown as { stopper: Stopper }).stopper = { controller, reader };
				return { status: response.status, length };
			},
			[path, CHUNK] as const,
		);
		expect(read).toEqual({ status: 200, length: CHUNK });
		// Chunks 1 to 3 are open at the origin, each stalled after its first bytes (hedges of them,
		// stalled the same way, may join: the example keeps the library defaults).
		await until(
			() => gets(site.requestsTo(path)).filter((record) => record.range !== undefined && record.bytesSent === STALL_AFTER && record.endedAt === undefined).length >= 3,
			'three stalled range requests',
		);
	}

	async function expectAllStopped(path: string): Promise<void> {
		await site.whenIdle(15_000);
		const records = gets(site.requestsTo(path));
		// The first chunk completed (on one request, or on several when free slots took over tails
		// of it); the three stalled ones, and any hedge or tail of them (the example keeps the
		// library's defaults), were closed by the browser.
		const stalled = records.filter((record) => Number(/^bytes=(\d+)-/.exec(record.range ?? '')?.[1] ?? 0) >= CHUNK);
		expect(stalled.length).toBeGreaterThanOrEqual(3);
		expect(stalled.every((record) => record.bytesSent === STALL_AFTER && record.aborted)).toBe(true);
		expect(records.every((record) => record.endedAt !== undefined)).toBe(true);
		expect(site.inFlight).toBe(0);
	}

	it('the page fetches a large file; the worker downloads it in parallel ranges; the bytes arrive intact', async () => {
		const file = site.put('/large/file.bin', { size: SIZE, seed: 3 });
		// Chunks after the first answer after 50 ms (half the 100 ms hedge delay): on loopback they
		// could otherwise finish one by one, and their overlap is what shows they were parallel.
		site.fault('/large/file.bin', ({ range }) => (range && range.start > 0 ? { delayMs: 50 } : undefined));
		await chromium.page.click('button');
		await chromium.page.waitForSelector('#status[data-state=done]', { timeout: 45_000 });
		expect(await chromium.page.textContent('#sha256')).toBe(await objectSha256(SIZE, 3));

		// Every request the origin saw is a range request made by the worker: none unranged. One per
		// chunk; any other is a tail of a chunk taken over by a slot left free (4 chunks, 8 slots),
		// at most 2 per slot, or a hedge of a chunk that went quiet (the example keeps the library
		// defaults, and this origin shares its event loop with the test runner), within the default
		// hedge budget (concurrency 8). All pinned like the first.
		const records = gets(site.requestsTo('/large/file.bin'));
		expect(expectChunksAndHedges(records, SIZE, CHUNK, file.etag)).toBeLessThanOrEqual(8 + 2 * 8);
		expect(site.maxInFlight).toBeGreaterThan(1);
		// The page got one ordinary response with the whole length.
		expect(await chromium.page.evaluate(() => document.querySelector('#status')?.textContent)).toContain(`${(SIZE / MiB).toFixed(1)} MiB`);
	});

	it('the page cancels the body: the worker\'s download stops and every range request ends', async () => {
		await startStalled('/large/cancelled.bin');
		await chromium.page.evaluate(() => (window as unknown as { stopper: Stopper }).stopper.reader.cancel());
		await expectAllStopped('/large/cancelled.bin');
	});

	it('the page aborts the fetch: the abort reaches the worker and every range request ends', async () => {
		await startStalled('/large/aborted.bin');
		const error = await chromium.page.evaluate(async () => {
			const { controller, reader } = (window as unknown as { stopper: Stopper }).stopper;
			controller.abort();
			try {
				await reader.read();
				return 'no error';
			} catch (caught) {
				return (caught as Error).name;
			}
		});
		expect(error).toBe('AbortError');
		await expectAllStopped('/large/aborted.bin');
	});

	it('when parallelGet() rejects (404), the worker falls back to a plain fetch and the page sees the origin\'s status', async () => {
		const status = await chromium.page.evaluate(async () => (await fetch('/large/missing.bin')).status);
		expect(status).toBe(404);
		const records = site.requestsTo('/large/missing.bin');
		// The worker's discovery (ranged) and its fallback (plain).
		expect(records.map((record) => record.range)).toEqual(['bytes=0-8388607', undefined]);
	});
});
