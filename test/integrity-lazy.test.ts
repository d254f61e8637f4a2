/**
 * The code that verifies (the server's digest headers parsed, the verifier, the hash) is a chunk
 * loaded on demand: a download with nothing to verify neither imports it nor waits for it. Stood
 * in for by a module whose import never settles and says when it was asked for.
 */
import { expect, it, vi } from 'vitest';
import { ParallelGetStream } from '../src/index.ts';
import { drain } from './support/collect.ts';
import { useOrigin } from './support/use-origin.ts';

const imported = vi.hoisted(() => {
	let announce!: () => void;
	const started = new Promise<'imported'>((resolve) => {
		announce = () => resolve('imported');
	});
	return { started, announce };
});
vi.mock('../src/integrity/verifier.ts', () => {
	imported.announce();
	return new Promise(() => {});
});

const KiB = 1024;
const size = 256 * KiB;
const origin = useOrigin();

it.each([
	{ name: 'parallel, no digest header', mode: 'parallel', concurrency: 2, bytes: size, digests: [] },
	{ name: "'single', no digest header", mode: 'single', concurrency: 1, bytes: size, digests: [] },
	{ name: "'empty', no digest header", mode: 'empty', concurrency: 2, bytes: 0, digests: [] },
	{ name: 'digest headers with verify: false', mode: 'parallel', concurrency: 2, bytes: size, digests: ['repr-digest', 'content-md5'] },
] as const)('nothing to verify ($name): the code that verifies is neither imported nor waited for', async ({ mode, concurrency, bytes, digests }) => {
	const path = `/lazy-${mode}-${digests.length}.bin`;
	origin.put(path, { size: bytes, seed: 1, digests: [...digests] });
	const download = new ParallelGetStream(origin.url(path), { chunkSize: 64 * KiB, concurrency, ...(digests.length > 0 ? { verify: false } : {}) });
	const info = await Promise.race([download.info, imported.started]);
	expect(info).toMatchObject({ mode, size: bytes });
	const read = await Promise.race([drain(download.readable), imported.started]);
	expect(read).toMatchObject({ length: bytes });
	expect((info as { digest?: unknown }).digest).toBeUndefined();
});
