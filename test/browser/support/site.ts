/**
 * The page side of the browser tests: an origin that serves the built package (`dist/`), hash-wasm's
 * ES modules and the harness page, which maps the bare specifiers with an import map, the way a
 * page without a bundler loads the package.
 */
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { DownloadInfo, DownloadStats, ParallelGetOptions } from '../../../src/index.ts';
import { type Origin, type RequestRecord, type StartOriginOptions, startOrigin } from '../../support/origin.ts';
import { MAX_RUN } from '../../support/runs.ts';

export const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface PageError {
	name: string | undefined;
	code: string | undefined;
	status: number | undefined;
	message: string;
	isParallelGetError: boolean;
}

export interface ReadResult {
	sha256: string;
	length: number;
	loadedAtFirstPiece: number | undefined;
	zeroLengthPieces: number;
	error: PageError | undefined;
}

export interface DownloadResult extends ReadResult {
	info: DownloadInfo | undefined;
	stats: DownloadStats;
}

/** Options that survive the trip into the page (no functions, no signals). */
export type PageOptions = Pick<ParallelGetOptions, 'concurrency' | 'chunkSize' | 'size' | 'allowUnpinned' | 'stallTimeout' | 'hedge' | 'overlap' | 'integrity' | 'verify'> & {
	retry?: number | { limit?: number; backoffLimit?: number };
};

/** What `test/browser/pages/harness.js` puts on `window`. */
export interface Harness {
	download(url: string, options?: PageOptions, how?: { gunzip?: boolean }): Promise<DownloadResult>;
	start(url: string, options?: PageOptions): void;
	readAtLeast(count: number): Promise<number>;
	cancel(): Promise<{ length: number; stats: DownloadStats }>;
	abort(): Promise<{ error: PageError | undefined; stats: DownloadStats }>;
}

declare global {
	interface Window {
		harness: Harness;
		library: typeof import('../../../src/index.ts');
	}
}

/** An origin serving `/dist/`, `/node_modules/hash-wasm/` and `/pages/` (the harness). */
export async function startSite(options?: StartOriginOptions): Promise<Origin> {
	const origin = await startOrigin(options);
	origin.serveDir('/dist/', `${root}dist`);
	origin.serveDir('/node_modules/hash-wasm/', `${root}node_modules/hash-wasm`);
	origin.serveDir('/pages/', `${root}test/browser/pages`);
	return origin;
}

/** Opens the harness page of `site` and waits until the package has loaded in it. */
export async function openHarness(page: Page, site: Origin): Promise<void> {
	await page.goto(site.url('/pages/harness.html'));
	await page.waitForFunction(() => window.harness !== undefined, undefined, { timeout: 15_000 });
}

/**
 * A site for the file's tests, started once, and the harness page opened on it (counters reset)
 * before each test. Call after `usePage()`; read `site` inside hooks and tests.
 */
export function useHarness(chromium: { readonly page: Page }): { readonly site: Origin } {
	let site: Origin | undefined;
	beforeAll(async () => {
		site = await startSite();
	});
	afterAll(async () => {
		await site?.close();
	});
	beforeEach(async () => {
		if (!site) throw new Error('the site did not start');
		await openHarness(chromium.page, site);
		site.resetStats();
	});
	return {
		get site(): Origin {
			if (!site) throw new Error('the site did not start');
			return site;
		},
	};
}

/** The Range headers of `records`, ordered by first byte. */
export function sortedRanges(records: RequestRecord[]): (string | undefined)[] {
	const first = (range: string | undefined): number => Number(/\d+/.exec(range ?? '')?.[0] ?? -1);
	return records.map((record) => record.range).sort((a, b) => first(a) - first(b));
}

/** The Range headers of a parallel download of `size` bytes in `chunkSize` chunks, in order. */
export function chunkRanges(size: number, chunkSize: number): string[] {
	return Array.from({ length: Math.ceil(size / chunkSize) }, (_, index) => {
		const start = index * chunkSize;
		return `bytes=${start}-${Math.min(start + chunkSize, size) - 1}`;
	});
}

/**
 * The GETs of a download run with the library's defaults (the examples): each asks for one or
 * two whole chunks from the first byte of one, for the rest of a chunk that went quiet under
 * load (a hedge), or for a tail split off a chunk at the end (tail stealing), pinned like the
 * others; each ends where a chunk ends or where a tail of it starts, and together they cover the
 * object. Returns how many requests there were beyond one per run (hedges and tails).
 */
export function expectChunksAndHedges(gets: RequestRecord[], size: number, chunkSize: number, etag: string | null | undefined): number {
	const chunks = chunkRanges(size, chunkSize);
	const covered = new Set<number>();
	const bounds = gets.map((record) => /^bytes=(\d+)-(\d+)$/.exec(record.range ?? '')?.slice(1).map(Number) ?? [Number.NaN, Number.NaN]);
	const starts = bounds.map(([start]) => start as number);
	const tailStarts = new Set(starts.filter((start) => start % chunkSize !== 0));
	for (const [i, record] of gets.entries()) {
		const [start, end] = bounds[i] as [number, number];
		const first = Math.floor(start / chunkSize);
		const last = Math.floor(end / chunkSize);
		const chunkEnd = Math.min((last + 1) * chunkSize, size) - 1;
		if (end !== chunkEnd && !tailStarts.has(end + 1)) throw new Error(`${record.range} does not end where a chunk or a tail of it starts (${chunkEnd})`);
		if (last - first + 1 > MAX_RUN) throw new Error(`${record.range} covers more than ${MAX_RUN} chunks`);
		if (start > 0 && record.headers['if-match'] !== etag) throw new Error(`${record.range} is not pinned to ${etag}`);
		if (start % chunkSize === 0) for (let chunk = first; chunk <= last; chunk++) covered.add(chunk);
	}
	if (covered.size !== chunks.length) throw new Error(`not every chunk was asked for from its start; saw ${sortedRanges(gets).join(', ')}`);
	return gets.length - new Set(starts.filter((start) => start % chunkSize === 0)).size;
}
