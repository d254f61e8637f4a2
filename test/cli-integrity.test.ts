/**
 * The built CLI's `--integrity`, `--checksum` and `--no-verify` (issue 14) against the local
 * origin: what the summary says was verified, and on a mismatch the code, both digests, exit 1
 * and neither FILE nor FILE.part left behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './support/collect.ts';
import { base64, digestOf, hex } from './support/digests.ts';
import { type Origin, startOrigin } from './support/origin.ts';

const KiB = 1024;
const bin = resolve('dist/cli/bin.js');
let origin: Origin;
let dir: string;

beforeAll(async () => {
	if (!existsSync(bin)) throw new Error('dist/cli/bin.js is missing: run `npm run build` first (`npm test` does)');
	origin = await startOrigin();
	dir = mkdtempSync(join(tmpdir(), 'parallel-get-stream-cli-integrity-'));
});
afterAll(async () => {
	await origin.close();
	rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
	const child = spawn(resolve('node_modules/.bin/node'), [bin, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
	let stderr = '';
	child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
	return new Promise((done, fail) => {
		child.on('error', fail);
		child.on('close', (code) => done({ code, stderr }));
	});
}

function leftovers(name: string): string[] {
	return readdirSync(dir).filter((entry) => entry === name || entry === `${name}.part`);
}

const size = 512 * KiB;
let paths = 0;
function object(digests: 'repr-digest'[] = []) {
	const path = `/cli-integrity-${++paths}.bin`;
	const name = `out-${paths}.bin`;
	const bytes = origin.put(path, { size, seed: 100 + paths, digests }).slice();
	return { path, name, url: origin.url(path), bytes };
}

const fast = ['-c', '2', '--chunk-size', '64k'];

describe('parallel-get-stream CLI: integrity', () => {
	it.each([
		['--checksum', 'sha256', (bytes: Uint8Array) => `sha256=${hex(digestOf('sha256', bytes))}`],
		['--checksum', 'crc64nvme', (bytes: Uint8Array) => `crc64nvme=${hex(digestOf('crc64nvme', bytes))}`],
		['--checksum', 'md5', (bytes: Uint8Array) => `md5=${hex(digestOf('md5', bytes))}`],
		['--checksum', 'crc32c', (bytes: Uint8Array) => `crc32c=${hex(digestOf('crc32c', bytes))}`],
		['--integrity', 'sha512', (bytes: Uint8Array) => `sha512-${base64(digestOf('sha512', bytes))}`],
	] as const)('%s %s: the file, and the summary says what was verified', async (flag, algorithm, value) => {
		const { url, name, bytes } = object();
		const result = await run([url, '-o', name, ...fast, flag, value(bytes)]);
		expect(result.stderr).toMatch(new RegExp(`, ${algorithm} \\(integrity\\) verified\\n$`));
		expect(result.code).toBe(0);
		expect(sha256(readFileSync(join(dir, name)))).toBe(sha256(bytes));
	});

	it("the server's Repr-Digest, verified without being asked; --no-verify leaves it", async () => {
		const { url, name } = object(['repr-digest']);
		expect((await run([url, '-o', name, ...fast])).stderr).toMatch(/, sha512 \(repr-digest\) verified\n$/);
		expect((await run([url, '-o', `${name}.2`, ...fast, '--no-verify'])).stderr).not.toMatch(/verified/);
	});

	it('a flipped byte: ERR_INTEGRITY with both digests, exit 1, neither FILE nor FILE.part', async () => {
		const { path, url, name, bytes } = object();
		origin.fault(path, () => ({ corruptByteAt: size - 1000 }));
		const expected = hex(digestOf('sha256', bytes));
		const wrong = bytes.slice();
		wrong[size - 1000] = (wrong[size - 1000] as number) ^ 0xff;
		const result = await run([url, '-o', name, ...fast, '--checksum', `sha256=${expected}`]);
		expect(result.code).toBe(1);
		expect(result.stderr.split('\n').filter(Boolean)).toEqual([
			expect.stringMatching(/^parallel-get-stream: ERR_INTEGRITY: /),
			`parallel-get-stream: expected sha256 ${expected} (integrity)`,
			`parallel-get-stream: received sha256 ${hex(digestOf('sha256', wrong))}; removed ${name}.part`,
		]);
		expect(leftovers(name)).toEqual([]);
	});

	it.each([
		[['--checksum', 'sha1=00'], /--checksum expects ALG=HEX/],
		[['--checksum', 'sha256=xyz'], /--checksum expects ALG=HEX/],
		[['--integrity', 'sha256-short'], /`integrity`/],
	])('bad digests %j: exit 2, no request', async (args, reason) => {
		origin.resetStats();
		const result = await run(['http://127.0.0.1:9/x', ...args]);
		expect(result.code).toBe(2);
		expect(result.stderr).toMatch(reason);
		expect(origin.requests).toHaveLength(0);
	});
});
