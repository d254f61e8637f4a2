/**
 * Chromium runs `examples/resumable/` as a user would: the download starts, the page is closed
 * mid-download, the page is opened again and the download continued from the checkpoint kept in
 * the Origin Private File System. The file saved there must be the object by hash, and the origin
 * must have seen the second run ask for nothing before the checkpoint, its first round starting
 * there, pinned. With a digest to verify, the checkpoint saved carries the hash of the bytes
 * saved, and the continued download verifies the whole file: a byte flipped on the way fails it,
 * and the page removes the file and its checkpoint.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
		site.serveDir('/node_modules/hash-wasm/', `${root}node_modules/hash-wasm`);
	});
	afterAll(async () => {
		await site?.close();
	});
	beforeEach(() => {
		site.resetStats();
	});

	const concurrency = 4;
	const pageUrl = (path: string, integrity = ''): string =>
		site.url(`/examples/resumable/index.html?${new URLSearchParams({ url: site.url(path), integrity, concurrency: String(concurrency), chunkSize: '64', commit: '256' })}`);

	/**
	 * Starts the page's download, waits for a checkpoint, closes the page mid-download; the bytes
	 * that checkpoint covers. Slow enough for that: about 3 s for 6 MiB at full speed.
	 */
	async function closeMidDownload(path: string, integrity = ''): Promise<number> {
		site.fault(path, () => ({ bytesPerSecond: 512 * KiB }));
		const first = chromium.page;
		await first.goto(pageUrl(path, integrity));
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
		return checkpoint;
	}

	/** The bytes the page's checkpoint covers (`data-saved`), or undefined before it says. */
	async function saved(page: typeof chromium.page): Promise<number | undefined> {
		const value = await page.$eval('#status', (element) => (element as HTMLElement).dataset.saved).catch(() => undefined);
		return value === undefined ? undefined : Number(value);
	}

	it('closed mid-download and opened again: continues from the checkpoint in OPFS, and the file is the object by hash', async () => {
		const path = '/big/model.bin';
		const size = 6 * MiB + 321;
		const object = site.put(path, { size, seed: 51 });
		const checkpoint = await closeMidDownload(path);

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
		await closeMidDownload(path);
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

	describe('with a digest to verify', () => {
		/** The page's checkpoint file, and the saved file's size and SHA-256, read in the page. */
		async function savedFiles(page: typeof chromium.page, name: string): Promise<{ checkpoint: unknown; size: number | undefined; sha256: string | undefined }> {
			return page.evaluate(async (file) => {
				const directory = await (await navigator.storage.getDirectory()).getDirectoryHandle('downloads');
				const read = async (entry: string) => (await directory.getFileHandle(entry)).getFile();
				const checkpoint = await read(`${file}.checkpoint.json`).then(async (blob) => JSON.parse(await blob.text()) as unknown, () => undefined);
				const data = await read(file).catch(() => undefined);
				const digest = data && (await crypto.subtle.digest('SHA-256', await data.arrayBuffer()));
				return { checkpoint, size: data?.size, sha256: digest && [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('') };
			}, name);
		}

		/** An object with its sha256 as `integrity`, a first page closed mid-download, and a second one that offers to continue. */
		async function reopened(path: string, size: number, seed: number) {
			const object = site.put(path, { size, seed });
			const integrity = `sha256-${Buffer.from(await object.sha256(), 'hex').toString('base64')}`;
			await closeMidDownload(path, integrity);
			const second = await chromium.context.newPage();
			const log = watchPage(second);
			await second.goto(pageUrl(path, integrity));
			await second.waitForSelector('#status[data-state=resumable]', { timeout: 15_000 });
			return { object, second, log, offset: (await saved(second)) as number };
		}

		it('the checkpoint in OPFS carries the hash of the bytes saved; continued, the whole file is verified', async () => {
			const size = 5 * MiB + 77;
			const { object, second, log, offset } = await reopened('/big/verified.bin', size, 54);
			const before = await savedFiles(second, 'verified.bin');
			// Hashed by hash-wasm in the browser: its state is saved, of exactly the bytes saved.
			expect(before.checkpoint).toMatchObject({ offset, hash: { algorithm: 'sha256', source: 'integrity', length: offset } });
			await second.click('#start');
			await second.waitForSelector('#status[data-state=done]', { timeout: 30_000 }).catch((error: unknown) => {
				throw new Error(`${String(error)}\n${log.join('\n')}`);
			});
			expect(await second.textContent('#status')).toContain('sha256 verified');
			const after = await savedFiles(second, 'verified.bin');
			expect({ size: after.size, sha256: after.sha256 }).toEqual({ size, sha256: await object.sha256() });
		});

		it('a byte flipped on the way in the continued run: it fails ERR_INTEGRITY, and the file and its checkpoint are removed', async () => {
			const path = '/big/damaged.bin';
			const size = 5 * MiB + 78;
			const { second } = await reopened(path, size, 55);
			// Every header right, one byte near the end wrong: only the whole file's hash can tell.
			site.fault(path, () => ({ corruptByteAt: size - 1000 }));
			await second.click('#start');
			await second.waitForSelector('#status[data-state=corrupt]', { timeout: 30_000 }).catch(async (error: unknown) => {
				throw new Error(`${String(error)}\nthe page says: ${await second.textContent('#status')}`);
			});
			site.fault(path, undefined);
			expect(await second.textContent('#status')).toContain('sha256');
			expect(await savedFiles(second, 'damaged.bin')).toEqual({ checkpoint: undefined, size: undefined, sha256: undefined });
		});
	});
});
