/**
 * Against nginx, a real origin users have: its own strong ETags, If-Match and ranges on static
 * files. Skipped only where nginx is absent outside CI (`.ci/run` installs it).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParallelGetStream, RevisionChangedError } from '../src/index.ts';
import { drain, rejection, sha256 } from './support/collect.ts';
import { type Nginx, nginxPath, startNginx } from './support/nginx.ts';
import { objectBytes } from './support/object.ts';

const binary = nginxPath();
if (!binary && process.env.CI) throw new Error('nginx is required under CI (apt-get install nginx)');
if (!binary) console.warn('nginx not found: skipping the nginx tests (install the Debian package nginx)');

describe.skipIf(!binary)('ParallelGetStream against nginx', () => {
	let nginx: Nginx;
	beforeAll(async () => {
		nginx = await startNginx(binary!);
	});
	afterAll(async () => {
		await nginx?.stop();
	});

	it('downloads a static file in parallel, pinned to nginx’s ETag, byte for byte', async () => {
		const data = objectBytes(5 * 1024 * 1024 + 3, 41);
		await writeFile(join(nginx.root, 'file.bin'), data);
		const download = new ParallelGetStream(nginx.url('/file.bin'), { chunkSize: 512 * 1024, concurrency: 4 });
		expect((await drain(download.readable)).sha256).toBe(sha256(data));
		const info = await download.info;
		expect(info).toMatchObject({ mode: 'parallel', size: data.length });
		expect(info.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
		// 11 chunks: each asked for once, one or two to a request; on a busy machine a chunk may go
		// quiet for `hedge.after` and be hedged (or a tail stolen): those are the documented extra.
		const { requests, hedges, steals } = download.stats;
		expect(download.stats).toMatchObject({ retries: 0, bytesReceived: data.length });
		expect(requests - hedges - steals).toBeGreaterThanOrEqual(6);
		expect(requests - hedges - steals).toBeLessThanOrEqual(11);
	});

	it('fails with RevisionChangedError when the file is rewritten during the download', async () => {
		const path = join(nginx.root, 'rewritten.bin');
		await writeFile(path, objectBytes(4 * 1024 * 1024, 42));
		const download = new ParallelGetStream(nginx.url('/rewritten.bin'), { chunkSize: 256 * 1024, concurrency: 2 });
		const reader = download.readable.getReader();
		await reader.read();
		await download.info;
		// A new revision of another size: nginx's ETag (mtime-size) changes whatever the clock.
		await writeFile(path, objectBytes(4 * 1024 * 1024 + 1, 43));
		const error = await rejection(
			(async () => {
				for (;;) if ((await reader.read()).done) return;
			})(),
		);
		expect(error).toBeInstanceOf(RevisionChangedError);
		expect(error).toMatchObject({ code: 'ERR_REVISION_CHANGED' });
	});
});
