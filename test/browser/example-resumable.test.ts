/**
 * Chromium runs `examples/resumable/` as a user would: the download starts, the page is closed
 * mid-download, the page is opened again and the download continued from the checkpoint kept in
 * the Origin Private File System. The file saved there must be the object by hash, and the origin
 * must have seen the second run ask for nothing before the checkpoint, its first round starting
 * there, pinned.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { type Origin, startOrigin } from '../support/origin.ts';
import { describeChromium, usePage, watchPage } from './support/chromium.ts';
import { root } from './support/site.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

describeChromium('Chromium: examples/resumable', () => {
	const chromium = usePage();
	let site: Origin;

	beforeAll(async () => {
		site = await startOrigin();
		site.serveDir('/examples/resumable/', `${root}examples/resumable`);
		site.serveDir('/node_modules/parallel-get-stream/dist/', `${root}dist`);
		site.serveDir('/node_modules/ky/', `${root}node_modules/ky`);
	});
	afterAll(async () => {
		await site?.close();
	});
	beforeEach(() => {
		site.resetStats();
	});

	const concurrency = 4;
	const pageUrl = (path: string): string =>
		site.url(`/examples/resumable/index.html?${new URLSearchParams({ url: site.url(path), concurrency: String(concurrency), chunkSize: '64', commit: '256' })}`);

	/** The bytes the page's checkpoint covers (`data-saved`), or undefined before it says. */
	async function saved(page: typeof chromium.page): Promise<number | undefined> {
		const value = await page.$eval('#status', (element) => (element as HTMLElement).dataset.saved).catch(() => undefined);
		return value === undefined ? undefined : Number(value);
	}

	it('closed mid-download and opened again: continues from the checkpoint in OPFS, and the file is the object by hash', async () => {
		const path = '/big/model.bin';
		const size = 6 * MiB + 321;
		const object = site.put(path, { size, seed: 51 });
		// Slow enough that the page is closed mid-download: about 3 s at full speed.
		site.fault(path, () => ({ bytesPerSecond: 512 * KiB }));

		const first = chromium.page;
		await first.goto(pageUrl(path));
		await first.click('#start');
		let checkpoint = 0;
		const deadline = Date.now() + 30_000;
		while (!((checkpoint = (await saved(first)) ?? 0) > 0)) {
			if (Date.now() > deadline) throw new Error('the first page saved no checkpoint in 30 s');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		await first.close();
		site.fault(path, undefined);
		await site.whenIdle(15_000);

		const second = await chromium.context.newPage();
		const log = watchPage(second);
		await second.goto(pageUrl(path));
		await second.waitForSelector('#status[data-state=resumable]', { timeout: 15_000 });
		const offset = (await saved(second)) as number;
		// The checkpoint never claims more than what was committed before the page went.
		expect(offset).toBeGreaterThanOrEqual(checkpoint);
		expect(offset).toBeLessThan(size);
		expect(await second.textContent('#start')).toBe('Continue');
		site.resetStats();
		await second.click('#start');
		await second.waitForSelector('#status[data-state=done]', { timeout: 30_000 }).catch((error: unknown) => {
			throw new Error(`${String(error)}\n${log.join('\n')}`);
		});

		const hash = await second.evaluate(async (name) => {
			const directory = await (await navigator.storage.getDirectory()).getDirectoryHandle('downloads');
			const file = await (await directory.getFileHandle(name)).getFile();
			const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
			return { size: file.size, sha256: [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('') };
		}, 'model.bin');
		expect(hash).toEqual({ size, sha256: await object.sha256() });
		expect(await second.textContent('#status')).toContain(`resumed at`);

		const gets = site.requestsTo(path).filter((record) => record.method === 'GET');
		const starts = gets.map((record) => Number(/^bytes=(\d+)-/.exec(record.range ?? '')?.[1]));
		// Nothing before the checkpoint was asked for again; the first round started at it, pinned.
		expect(Math.min(...starts)).toBe(offset);
		expect(starts.slice(0, concurrency)).toContain(offset);
		expect(gets.every((record) => record.headers['if-match'] === object.etag)).toBe(true);
	});

	it('a file changed on the server since: the page says so, and the saved part is left as it was', async () => {
		const path = '/big/changed.bin';
		const size = 4 * MiB;
		site.put(path, { size, seed: 52 });
		site.fault(path, () => ({ bytesPerSecond: 512 * KiB }));
		const first = chromium.page;
		await first.goto(pageUrl(path));
		await first.click('#start');
		const deadline = Date.now() + 30_000;
		while (!(((await saved(first)) ?? 0) > 0)) {
			if (Date.now() > deadline) throw new Error('the first page saved no checkpoint in 30 s');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		await first.close();
		site.fault(path, undefined);
		await site.whenIdle(15_000);
		site.put(path, { size, seed: 53 });

		const second = await chromium.context.newPage();
		await second.goto(pageUrl(path));
		await second.waitForSelector('#status[data-state=resumable]', { timeout: 15_000 });
		const offset = (await saved(second)) as number;
		site.resetStats();
		await second.click('#start');
		await second.waitForSelector('#status[data-state=changed]', { timeout: 15_000 });
		expect(site.requestsTo(path).filter((record) => record.method === 'GET').every((record) => record.status === 412)).toBe(true);
		const kept = await second.evaluate(async () => {
			const directory = await (await navigator.storage.getDirectory()).getDirectoryHandle('downloads');
			return (await (await directory.getFileHandle('changed.bin')).getFile()).size;
		});
		expect(kept).toBe(offset);
	});
});
