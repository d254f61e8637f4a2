/**
 * Node, Deno and Bun, each as a child process, import the built package by its name (resolved
 * through package.json `exports`, as after an install) and download from a local origin:
 * `fixtures/check.ts` exercises the API, and each runtime's example downloads a file with
 * progress. Bytes are checked by hash, requests in the origin's log.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../support/collect.ts';
import { base64, digestOf } from '../support/digests.ts';
import { objectSha256, objectSlice } from '../support/object.ts';
import { type Origin, type RequestRecord, startOrigin } from '../support/origin.ts';
import { expectChunkRuns } from '../support/runs.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string => join(root, 'node_modules/.bin', name);
const inCi = process.env.CI === 'true' || process.env.CI === '1';

interface Runtime {
	name: 'node' | 'deno' | 'bun';
	executable: string;
	/** Arguments that run `script` with network access to the origin and writes to `dir`. */
	run: (script: string, dir: string) => string[];
}

const runtimes: Runtime[] = [
	{ name: 'node', executable: process.execPath, run: (script) => [script] },
	{
		name: 'deno',
		executable: bin('deno'),
		run: (script, dir) => ['run', '--no-lock', '--allow-net=127.0.0.1', `--allow-read=${dir}`, `--allow-write=${dir}`, script],
	},
	{ name: 'bun', executable: bin('bun'), run: (script) => [script] },
];

function version(runtime: Runtime): string | undefined {
	if (!existsSync(runtime.executable)) return undefined;
	try {
		const output = execFileSync(runtime.executable, ['--version'], { encoding: 'utf8', timeout: 20_000 });
		return /\d+\.\d+\.\d+/.exec(output)?.[0];
	} catch {
		return undefined;
	}
}

interface Ran {
	code: number | null;
	stdout: string;
	stderr: string;
}

/** Runs to the end; stdin stays open until `beforeStdinEnd` (if any) has resolved. */
function run(runtime: Runtime, args: string[], beforeStdinEnd?: () => Promise<void>): Promise<Ran> {
	return new Promise((resolve, reject) => {
		const child = spawn(runtime.executable, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (text: string) => {
			stdout += text;
		});
		child.stderr.setEncoding('utf8').on('data', (text: string) => {
			stderr += text;
		});
		const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
		child.on('error', reject);
		child.on('close', (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
		(beforeStdinEnd ? beforeStdinEnd() : Promise.resolve()).then(
			() => child.stdin.end(),
			(error: unknown) => {
				child.kill('SIGKILL');
				reject(error);
			},
		);
	});
}

/** Polls the origin's state (never a duration under test). */
async function until(check: () => boolean, what: string): Promise<void> {
	const deadline = Date.now() + 30_000;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

const gets = (records: RequestRecord[]): RequestRecord[] => records.filter((record) => record.method === 'GET');

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;
/** What check.ts downloads: 12 chunks of its 256 KiB. */
const SIZE = 3 * MiB - 333;
/** What the examples download with the library's defaults (8 MiB chunks): 3 range requests. */
const EXAMPLE_SIZE = 20 * MiB + 7;

for (const runtime of runtimes) {
	const found = version(runtime);
	const title = `${runtime.name} ${found ?? '(not found)'}: the built package, imported by name`;
	if (!found) {
		if (inCi) {
			describe(title, () => {
				it(`needs ${runtime.name}`, () => {
					throw new Error(`${runtime.executable} does not run: run \`npm ci\``);
				});
			});
		} else {
			process.stderr.write(`\n[runtime tests] SKIPPED ${runtime.name}: ${runtime.executable} does not run (run \`npm ci\`)\n\n`);
			describe.skip(title, () => {
				it(`runs the built package in ${runtime.name}`, () => {});
			});
		}
		continue;
	}

	describe(title, () => {
		let origin: Origin;
		let dir: string;

		beforeAll(async () => {
			origin = await startOrigin();
			dir = await mkdtemp(join(tmpdir(), `pgs-${runtime.name}-`));
		});
		afterAll(async () => {
			await origin?.close();
			await rm(dir, { recursive: true, force: true });
		});

		it('downloads in order over parallel ranges, as a stream and as a Response; cancels; refuses a changed object; ponyfill entry', async () => {
			origin.put('/stream.bin', { size: SIZE, seed: 11 });
			origin.put('/response.bin', { size: SIZE, seed: 12 });
			origin.put('/cancel.bin', { size: SIZE, seed: 13 });
			origin.fault('/cancel.bin', ({ range }) => (range && range.start > 0 ? { stallAfterBytes: 1024 } : undefined));
			origin.put('/changing.bin', { size: SIZE, seed: 14 });
			// The third request replaces the object; the pinned requests after it get 412.
			origin.fault('/changing.bin', ({ count }) => {
				if (count === 3) origin.put('/changing.bin', { size: SIZE, seed: 15 });
				return undefined;
			});

			// The fixture cancels /cancel.bin once the origin holds every range request after the first
			// stalled: at least the three slots (concurrency 4) that the first chunk left free.
			const allStalled = (): boolean => {
				const records = gets(origin.requestsTo('/cancel.bin'));
				const stalled = records.filter((record) => record.bytesSent === 1024 && record.endedAt === undefined).length;
				return stalled >= 3 && stalled === records.length - 1;
			};
			const ran = await run(runtime, [...runtime.run(join(root, 'test/runtimes/fixtures/check.ts'), dir), origin.origin], () =>
				until(allStalled, 'every range request after the first stalled'),
			);
			expect(ran.stderr).toBe('');
			expect(ran.code).toBe(0);
			const report = JSON.parse(ran.stdout.trim().split('\n').at(-1) ?? '{}');

			const expected = await objectSha256(SIZE, 11);
			expect(report.streamed).toEqual({ sha256: expected, length: SIZE });
			expect(report.info).toMatchObject({ mode: 'parallel', size: SIZE, etag: origin.get('/stream.bin')?.etag });
			expect(report.stats.maxInFlight).toBeGreaterThan(1);
			expect(report.answered).toEqual({
				status: 200,
				contentLength: String(SIZE),
				etag: origin.get('/response.bin')?.etag,
				sha256: await objectSha256(SIZE, 12),
				length: SIZE,
			});
			// Every request was ranged; each of the 12 chunks fetched once, one or two to a request.
			const answeredGets = gets(origin.requestsTo('/response.bin'));
			expectChunkRuns(answeredGets.map((record) => record.range), SIZE, CHUNK);

			// Cancelled after the first chunk: the stalled range requests were all closed.
			expect(report.cancelled.read).toBe(CHUNK);
			await origin.whenIdle(15_000);
			const cancelled = gets(origin.requestsTo('/cancel.bin'));
			expect(cancelled.length).toBeGreaterThanOrEqual(4);
			expect(cancelled[0]?.aborted).toBe(false);
			expect(cancelled.slice(1).every((record) => record.aborted && record.endedAt !== undefined)).toBe(true);

			expect(report.changed.error).toEqual({ name: 'RevisionChangedError', code: 'ERR_REVISION_CHANGED', revisionChanged: true });
			expect(report.changed.length).toBeLessThan(SIZE);
			expect(report.changed.sha256).toBe(sha256(objectSlice(SIZE, 14, 0, report.changed.length)));

			expect(report.ponyfill).toEqual({ nativeStream: false, sha256: expected, length: SIZE });
		});

		it('verifies a sha256 (integrity) and a Repr-Digest, and fails a flipped byte before the last piece', async () => {
			origin.put('/integrity.bin', { size: SIZE, seed: 31 });
			origin.put('/repr.bin', { size: SIZE, seed: 32, digests: ['repr-digest'] });
			origin.put('/corrupt.bin', { size: SIZE, seed: 31 });
			origin.fault('/corrupt.bin', () => ({ corruptByteAt: Math.floor(SIZE / 2) }));
			const digest = base64(digestOf('sha256', objectSlice(SIZE, 31, 0, SIZE)));
			const ran = await run(runtime, [...runtime.run(join(root, 'test/runtimes/fixtures/integrity.ts'), dir), origin.origin, digest]);
			expect(ran.stderr).toBe('');
			expect(ran.code).toBe(0);
			const report = JSON.parse(ran.stdout.trim().split('\n').at(-1) ?? '{}');
			expect(report.verified).toEqual({ length: SIZE, digest: { algorithm: 'sha256', source: 'integrity', value: digest } });
			expect(report.fromServer).toEqual({
				length: SIZE,
				digest: { algorithm: 'sha512', source: 'repr-digest', value: base64(digestOf('sha512', objectSlice(SIZE, 32, 0, SIZE))) },
			});
			expect(report.corrupted.error).toEqual({ code: 'ERR_INTEGRITY', algorithm: 'sha256', guard: true });
			expect(report.corrupted.length).toBeLessThan(SIZE);
		});

		it(`examples/${runtime.name}.ts downloads a URL to a file with progress`, async () => {
			origin.put('/example.bin', { size: EXAMPLE_SIZE, seed: 21 });
			origin.resetStats();
			const output = join(dir, 'example.bin');
			const ran = await run(runtime, [...runtime.run(join(root, `examples/${runtime.name}.ts`), dir), origin.url('/example.bin'), output]);
			expect(ran.code).toBe(0);
			expect(ran.stderr).toContain('100% 20.0 MiB of 20.0 MiB');
			expect(ran.stderr).toContain(`Saved ${output}: ${EXAMPLE_SIZE} bytes`);
			expect(sha256(await readFile(output))).toBe(await objectSha256(EXAMPLE_SIZE, 21));
			expect(existsSync(`${output}.part`)).toBe(false);
			// One request per 8 MiB chunk (defaults); the slots left free take over tails of them.
			// Hedging is on, as users run the example: on a loaded machine a chunk or tail can wait
			// for its answer long enough to be asked for again from the same byte.
			const ranges = gets(origin.requestsTo('/example.bin')).map((record) => record.range);
			expect(expectChunkRuns(ranges, EXAMPLE_SIZE, 8 * MiB, { tails: true, reasks: true })).toEqual([1, 1, 1]);
		});

		it(`examples/${runtime.name}.ts fails plainly and leaves no file when the URL is missing`, async () => {
			const output = join(dir, 'missing.bin');
			const ran = await run(runtime, [...runtime.run(join(root, `examples/${runtime.name}.ts`), dir), origin.url('/missing.bin'), output]);
			expect(ran.code).toBe(1);
			expect(ran.stderr).toContain('UnexpectedResponseError');
			expect(ran.stderr).toContain('404');
			expect(existsSync(output)).toBe(false);
			expect(existsSync(`${output}.part`)).toBe(false);
		});

		if (runtime.name === 'deno') {
			it('`deno check examples/deno.ts` type-checks against the built .d.ts files', async () => {
				// tsc leaves `.ts` in the relative imports of the .d.ts files it emits; the build
				// rewrites them to `.js` (scripts/dts-extensions.ts), or Deno reports TS2307.
				const ran = await run(runtime, ['check', '--no-lock', join(root, 'examples/deno.ts')]);
				expect(ran.stderr).not.toContain('TS2307');
				expect(ran.code).toBe(0);
			});
		}
	});
}
