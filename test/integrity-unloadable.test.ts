/**
 * Where the hash code cannot load (a service worker, which cannot `import()`, bundled with the
 * import kept apart; a CSP without `wasm-unsafe-eval`; an import map without hash-wasm), stood in
 * for by a module that fails to load: a digest the server declared is skipped and the download
 * goes on as without it; the caller's `integrity` fails the download with the load's error.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ParallelGetStream } from '../src/index.ts';
import { drain, rejection } from './support/collect.ts';
import { base64, digestOf } from './support/digests.ts';
import { type Origin, startOrigin } from './support/origin.ts';

const unloadable = new TypeError('import() is disallowed on ServiceWorkerGlobalScope');
vi.mock('../src/integrity/hashers.ts', () => {
	throw unloadable;
});

const KiB = 1024;
const size = 256 * KiB;
let origin: Origin;
beforeAll(async () => {
	origin = await startOrigin();
});
afterAll(async () => {
	await origin.close();
});

it("a server's digest whose hash code cannot load is skipped: the download goes on unverified", async () => {
	origin.put('/declared.bin', { size, seed: 1, digests: ['repr-digest'] });
	origin.fault('/declared.bin', () => ({ corruptByteAt: 1000 }));
	const download = new ParallelGetStream(origin.url('/declared.bin'), { chunkSize: 64 * KiB, concurrency: 2 });
	expect((await drain(download.readable)).length).toBe(size);
});

it.each([
	['parallel', 2],
	['single', 1],
] as const)("a server's digest skipped because its hash code cannot load is not named in info.digest (%s)", async (mode, concurrency) => {
	origin.put(`/named-${mode}.bin`, { size, seed: 3, digests: ['repr-digest'] });
	const download = new ParallelGetStream(origin.url(`/named-${mode}.bin`), { chunkSize: 64 * KiB, concurrency });
	const [info, bytes] = await Promise.all([download.info, drain(download.readable)]);
	expect(info.mode).toBe(mode);
	expect(bytes.length).toBe(size);
	expect(info.digest).toBeUndefined();
});

it("the caller's integrity whose hash code cannot load fails the download, and hands out nothing", async () => {
	origin.put('/given.bin', { size, seed: 2 });
	const bytes = origin.get('/given.bin')?.slice() as Uint8Array;
	const download = new ParallelGetStream(origin.url('/given.bin'), { chunkSize: 64 * KiB, concurrency: 2, integrity: `sha256-${base64(digestOf('sha256', bytes))}` });
	const reader = download.readable.getReader();
	const error = await rejection(reader.read());
	expect(causes(error)).toContain(unloadable);
	// Not wrapped as if a resumed hash's state could not be restored: none was given.
	expect(causes(error).filter((cause) => cause instanceof Error && /resume/.test(cause.message))).toEqual([]);
});

function causes(error: unknown): unknown[] {
	const chain: unknown[] = [];
	for (let current = error; current !== undefined && chain.length < 10; current = (current as { cause?: unknown }).cause) chain.push(current);
	return chain;
}
