/**
 * The built CLI's `--integrity`, `--checksum` and `--no-verify` (issue 14) against the local
 * origin: what the summary says was verified, and on a mismatch the code, both digests, exit 1
 * and neither FILE nor FILE.part left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

const runtimes = {
	node: [resolve('node_modules/.bin/node'), bin],
	deno: [resolve('node_modules/.bin/deno'), 'run', '-A', bin],
	bun: [resolve('node_modules/.bin/bun'), bin],
} as const;

function start(args: string[], runtime: keyof typeof runtimes = 'node'): { child: ChildProcess; exit: Promise<{ code: number | null; stderr: string }> } {
	const [command, ...prefix] = runtimes[runtime];
	const child = spawn(command, [...prefix, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
	let stderr = '';
	child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
	const exit = new Promise<{ code: number | null; stderr: string }>((done, fail) => {
		child.on('error', fail);
		child.on('close', (code) => done({ code, stderr }));
	});
	return { child, exit };
}

function run(args: string[], runtime: keyof typeof runtimes = 'node'): Promise<{ code: number | null; stderr: string }> {
	return start(args, runtime).exit;
}

/** FILE, FILE.part and its sidecar, where they are left. */
function leftovers(name: string): string[] {
	return readdirSync(dir)
		.filter((entry) => entry === name || entry === `${name}.part` || entry === `${name}.part.json`)
		.sort();
}

function sidecar(name: string): { offset: number; hash?: { length: number } } {
	return (JSON.parse(readFileSync(join(dir, `${name}.part.json`), 'utf8')) as { checkpoint: { offset: number; hash?: { length: number } } }).checkpoint;
}

const size = 512 * KiB;
let paths = 0;
function object(digests: 'repr-digest'[] = [], bytes_ = size) {
	const path = `/cli-integrity-${++paths}.bin`;
	const name = `out-${paths}.bin`;
	const bytes = origin.put(path, { size: bytes_, seed: 100 + paths, digests }).slice();
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

	it('a flipped byte: ERR_INTEGRITY with both digests, exit 1, neither FILE nor FILE.part nor its sidecar', async () => {
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

/** Interrupted with SIGINT once FILE.part holds some bytes (at a slow pace); what it left. */
async function interrupted(path: string, name: string, url: string, args: string[]): Promise<{ offset: number }> {
	origin.fault(path, () => ({ bytesPerSecond: 512 * KiB }));
	const { child, exit } = start([url, '-o', name, '-c', '2', '--chunk-size', '256k', ...args]);
	const part = join(dir, `${name}.part`);
	const deadline = performance.now() + 20_000;
	while (!(existsSync(part) && statSync(part).size >= 512 * KiB)) {
		if (performance.now() > deadline) throw new Error('the download did not get going in 20 s');
		await new Promise((wait) => setTimeout(wait, 20));
	}
	child.kill('SIGINT');
	const result = await exit;
	origin.fault(path, undefined);
	expect(result.code).toBe(130);
	expect(leftovers(name)).toEqual([`${name}.part`, `${name}.part.json`]);
	const kept = sidecar(name);
	expect(kept.offset).toBeGreaterThan(0);
	expect(kept.offset).toBeLessThan(4 * size);
	// A hash in the sidecar is of exactly the bytes it claims.
	if (kept.hash) expect(kept.hash.length).toBe(kept.offset);
	await origin.whenIdle();
	origin.resetStats();
	return kept;
}

describe('parallel-get-stream CLI: --continue with a digest verifies the whole file', () => {
	it.each([
		['sha256', (bytes: Uint8Array) => ['--checksum', `sha256=${hex(digestOf('sha256', bytes))}`]],
		['crc64nvme', (bytes: Uint8Array) => ['--checksum', `crc64nvme=${hex(digestOf('crc64nvme', bytes))}`]],
	] as const)('%s, after SIGINT: the right file, and the summary says it resumed and verified', async (algorithm, flags) => {
		const { path, url, name, bytes } = object([], 4 * size);
		const kept = await interrupted(path, name, url, flags(bytes));
		const result = await run([url, '-o', name, '-c', '2', '--chunk-size', '256k', '--continue', ...flags(bytes)]);
		expect(result.code).toBe(0);
		expect(result.stderr).toMatch(new RegExp(`resuming ${name}\\.part at `));
		expect(result.stderr).toMatch(new RegExp(`, resumed at .*, ${algorithm} \\(integrity\\) verified\\n$`));
		expect(sha256(readFileSync(join(dir, name)))).toBe(sha256(bytes));
		expect(leftovers(name)).toEqual([name]);
		// The resumed run asked only for the rest.
		const ranges = origin.requestsTo(path).filter((request) => request.headers['if-match'] !== undefined);
		expect(Math.min(...ranges.map((request) => Number(/^bytes=(\d+)-/.exec(request.range ?? '')?.[1])))).toBe(kept.offset);
	});

	it.each(['deno', 'bun'] as const)('in %s (the first run in Node): FILE.part re-hashed, the right file, verified', async (runtime) => {
		const { path, url, name, bytes } = object([], 4 * size);
		const flags = ['--checksum', `sha256=${hex(digestOf('sha256', bytes))}`];
		await interrupted(path, name, url, flags);
		const result = await run([url, '-o', name, '-c', '2', '--chunk-size', '256k', '--continue', ...flags], runtime);
		expect(result.stderr).toMatch(/, resumed at .*, sha256 \(integrity\) verified\n$/);
		expect(result.code).toBe(0);
		expect(sha256(readFileSync(join(dir, name)))).toBe(sha256(bytes));
		expect(leftovers(name)).toEqual([name]);
	});

	it.each([
		['in FILE.part, before the offset', 'part'],
		['in the rest, after the offset', 'rest'],
	] as const)('a byte flipped %s: ERR_INTEGRITY with both digests, exit 1, no FILE, no FILE.part, no sidecar', async (_, where) => {
		const { path, url, name, bytes } = object([], 4 * size);
		const flags = ['--checksum', `sha256=${hex(digestOf('sha256', bytes))}`];
		const at = where === 'part' ? 1000 : 4 * size - 1000;
		const kept = await interrupted(path, name, url, flags);
		if (where === 'part') {
			// As if the disk, or the first run's server, had it wrong: nothing on the way in tells.
			const part = readFileSync(join(dir, `${name}.part`));
			part[at] = (part[at] as number) ^ 0xff;
			writeFileSync(join(dir, `${name}.part`), part);
		} else origin.fault(path, () => ({ corruptByteAt: at }));
		expect(kept.offset).toBeLessThan(at === 1000 ? Number.POSITIVE_INFINITY : at);
		const wrong = bytes.slice();
		wrong[at] = (wrong[at] as number) ^ 0xff;
		const result = await run([url, '-o', name, '-c', '2', '--chunk-size', '256k', '--continue', ...flags]);
		origin.fault(path, undefined);
		expect(result.code).toBe(1);
		expect(result.stderr.split('\n').filter(Boolean).slice(-3)).toEqual([
			expect.stringMatching(/^parallel-get-stream: ERR_INTEGRITY: /),
			`parallel-get-stream: expected sha256 ${hex(digestOf('sha256', bytes))} (integrity)`,
			`parallel-get-stream: received sha256 ${hex(digestOf('sha256', wrong))}; removed ${name}.part`,
		]);
		expect(leftovers(name)).toEqual([]);
	});

	it.each([
		['the right file, verified', false],
		['a byte flipped in FILE.part: ERR_INTEGRITY, nothing left', true],
	] as const)("the server's Repr-Digest, without --checksum: the sidecar names it, --continue verifies the whole file (%s)", async (_, flipped) => {
		const { path, url, name, bytes } = object(['repr-digest'], 4 * size);
		await interrupted(path, name, url, []);
		expect(JSON.parse(readFileSync(join(dir, `${name}.part.json`), 'utf8')).digest).toEqual({ algorithm: 'sha512', source: 'repr-digest', value: base64(digestOf('sha512', bytes)) });
		if (flipped) {
			const part = readFileSync(join(dir, `${name}.part`));
			part[1000] = (part[1000] as number) ^ 0xff;
			writeFileSync(join(dir, `${name}.part`), part);
		}
		const result = await run([url, '-o', name, '-c', '2', '--chunk-size', '256k', '--continue']);
		if (flipped) {
			expect(result.code).toBe(1);
			expect(result.stderr).toMatch(/ERR_INTEGRITY: [^\n]*\n.*expected sha512 .* \(repr-digest\)\n.*received sha512 .*; removed /);
			expect(leftovers(name)).toEqual([]);
		} else {
			expect(result.stderr).toMatch(/, resumed at .*, sha512 \(repr-digest\) verified\n$/);
			expect(result.code).toBe(0);
			expect(sha256(readFileSync(join(dir, name)))).toBe(sha256(bytes));
			expect(leftovers(name)).toEqual([name]);
		}
	});
});
