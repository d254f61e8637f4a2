/**
 * Chromium: stopping a download from the page. Chunks after the first stall at the origin after a
 * few bytes, so several range requests are open when the page stops; the origin's own records
 * then show every one of them closed by the browser.
 */
import { expect, it } from 'vitest';
import type { RequestRecord } from '../support/origin.ts';
import { describeChromium, until, usePage } from './support/chromium.ts';
import { type PageOptions, useHarness } from './support/site.ts';

const CHUNK = 128 * 1024;
const SIZE = 16 * CHUNK;
const CONCURRENCY = 4;
const STALL_AFTER = 1024;

const gets = (records: RequestRecord[]): RequestRecord[] => records.filter((record) => record.method === 'GET');

describeChromium('Chromium: the page stops a download', () => {
	const chromium = usePage();
	const harness = useHarness(chromium);

	/**
	 * Starts a download on the page, reads the first chunk, waits until every range request after
	 * it has stalled (at least CONCURRENCY - 1 of them: the slots the first chunk left free).
	 */
	async function startStalled(path: string): Promise<void> {
		harness.site.put(path, { size: SIZE, seed: 5 });
		harness.site.fault(path, ({ range }) => (range && range.start > 0 ? { stallAfterBytes: STALL_AFTER } : undefined));
		// No hedging: the stalls are the test's own, and every request after the first must stall.
		const options: PageOptions = { chunkSize: CHUNK, concurrency: CONCURRENCY, hedge: false };
		await chromium.page.evaluate(([href, opts]) => window.harness.start(href, opts), [harness.site.url(path), options] as const);
		expect(await chromium.page.evaluate((count) => window.harness.readAtLeast(count), CHUNK)).toBe(CHUNK);
		await until(() => {
			const records = gets(harness.site.requestsTo(path));
			const stalled = records.filter((record) => record.bytesSent === STALL_AFTER && record.endedAt === undefined).length;
			return stalled >= CONCURRENCY - 1 && stalled === records.length - 1;
		}, 'every range request after the first stalled');
	}

	/** Every range request has ended; the stalled ones were closed by the browser, none came after. */
	async function expectAllStopped(path: string): Promise<void> {
		await harness.site.whenIdle(15_000);
		const records = gets(harness.site.requestsTo(path));
		expect(records.length).toBeGreaterThanOrEqual(CONCURRENCY);
		expect(records[0]?.aborted).toBe(false);
		expect(records.slice(1).every((record) => record.aborted)).toBe(true);
		expect(records.every((record) => record.endedAt !== undefined)).toBe(true);
		expect(harness.site.inFlight).toBe(0);
	}

	it('reader.cancel() aborts every range request in flight', async () => {
		await startStalled('/cancel.bin');
		const { stats } = await chromium.page.evaluate(() => window.harness.cancel());
		expect(stats.loaded).toBe(CHUNK);
		await expectAllStopped('/cancel.bin');
	});

	it('aborting the signal errors the stream with the abort reason and aborts every range request', async () => {
		await startStalled('/abort.bin');
		const { error } = await chromium.page.evaluate(() => window.harness.abort());
		expect(error).toMatchObject({ name: 'AbortError', isParallelGetError: false });
		await expectAllStopped('/abort.bin');
	});

	it('a signal aborted before the start sends no request at all', async () => {
		harness.site.put('/never.bin', { size: SIZE, seed: 6 });
		const error = await chromium.page.evaluate(async (href) => {
			const controller = new AbortController();
			controller.abort();
			const download = new window.library.ParallelGetStream(href, { signal: controller.signal });
			try {
				await download.readable.getReader().read();
				return 'no error';
			} catch (caught) {
				return (caught as Error).name;
			}
		}, harness.site.url('/never.bin'));
		expect(error).toBe('AbortError');
		expect(harness.site.requestsTo('/never.bin')).toHaveLength(0);
	});
});
