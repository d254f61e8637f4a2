/**
 * The built CLI (`dist/cli/bin.js`, made by `npm run build`) as a child process against the local
 * origin: output checked by hash, failures by exit status, stderr line and the files left behind,
 * interrupts by the origin's request log. Once under Deno and Bun as well.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildArchive } from '../examples/demo/archive.ts';
import { formatBytes } from '../src/cli/format.ts';
import { objectSha256, objectSlice } from './support/object.ts';
import { type Origin, startOrigin } from './support/origin.ts';
import { expectChunkRuns } from './support/runs.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const bin = resolve('dist/cli/bin.js');
const runtimes = {
	node: [resolve('node_modules/.bin/node'), bin],
	deno: [resolve('node_modules/.bin/deno'), 'run', '-A', bin],
	bun: [resolve('node_modules/.bin/bun'), bin],
} as const;
type Runtime = keyof typeof runtimes;

interface Exit {
	code: number | null;
	stdout: Buffer;
	stderr: string;
	/** Milliseconds from spawn, or from `since` when given to `exited()`. */
	ms: number;
}

let origin: Origin;
let dir: string;

beforeAll(async () => {
	if (!existsSync(bin)) throw new Error('dist/cli/bin.js is missing: run `npm run build` first (`npm test` does)');
	origin = await startOrigin();
	dir = mkdtempSync(join(tmpdir(), 'parallel-get-stream-cli-'));
});
afterAll(async () => {
	await origin.close();
	rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
	origin.resetStats();
});

function start(args: string[], runtime: Runtime = 'node', cwd = dir): { child: ChildProcess; exit: Promise<Exit> } {
	const [command, ...prefix] = runtimes[runtime];
	const started = performance.now();
	const child = spawn(command, [...prefix, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
	const stdout: Buffer[] = [];
	let stderr = '';
	child.stdout?.on('data', (piece: Buffer) => stdout.push(piece));
	child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
	const exit = new Promise<Exit>((done, fail) => {
		child.on('error', fail);
		child.on('close', (code) => done({ code, stdout: Buffer.concat(stdout), stderr, ms: performance.now() - started }));
	});
	return { child, exit };
}

function run(args: string[], runtime: Runtime = 'node', cwd = dir): Promise<Exit> {
	return start(args, runtime, cwd).exit;
}

/** The checkpoint in `FILE.part.json`. */
function sidecar(name: string): { url: string; offset: number; size: number; etag?: string } {
	return (JSON.parse(readFileSync(join(dir, `${name}.part.json`), 'utf8')) as { checkpoint: { url: string; offset: number; size: number; etag?: string } }).checkpoint;
}

/** Waits until `FILE.part.json` claims at least `bytes` (20 s at most). */
async function waitForSidecar(name: string, bytes: number): Promise<void> {
	const deadline = performance.now() + 20_000;
	for (;;) {
		try {
			if (sidecar(name).offset >= bytes) return;
		} catch {
			// Not written yet (or being replaced: it is renamed over, never written in place).
		}
		if (performance.now() > deadline) throw new Error(`${name}.part.json did not claim ${bytes} bytes in 20 s`);
		await new Promise((wait) => setTimeout(wait, 20));
	}
}

/** The resumed run's requests: every one pinned, none before the checkpoint, the first range at it, the last at the end. */
function expectResumedAt(path: string, offset: number, size: number): void {
	const requests = origin.requestsTo(path);
	expect(requests.length).toBeGreaterThan(0);
	expect(requests.every((request) => request.headers['if-match'] === origin.get(path)!.etag)).toBe(true);
	const spans = requests.map((request) => /^bytes=(\d+)-(\d+)$/.exec(request.range ?? '')!).map((match) => ({ start: Number(match[1]), end: Number(match[2]) }));
	expect(Math.min(...spans.map((span) => span.start))).toBe(offset);
	expect(Math.max(...spans.map((span) => span.end))).toBe(size - 1);
}

function sha256(bytes: Uint8Array): string {
	return createHash('sha256').update(bytes).digest('hex');
}

function fileSha256(name: string): string {
	return sha256(readFileSync(join(dir, name)));
}

/** What the CLI left in the working directory under `name` (FILE and FILE.part). */
function leftovers(name: string): string[] {
	return readdirSync(dir)
		.filter((entry) => entry === name || entry === `${name}.part` || entry === `${name}.part.json`)
		.sort();
}

function lines(text: string): string[] {
	return text.split('\n').filter((line) => line !== '');
}

async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
	const { port } = server.address() as { port: number };
	await new Promise((closed) => server.close(closed));
	return port;
}

describe('parallel-get-stream CLI: output', () => {
	it('writes -o FILE byte for byte, through FILE.part, with one summary line when stderr is not a terminal', async () => {
		const size = 5 * MiB + 123;
		origin.put('/out.bin', { size, seed: 21 });
		// --no-hedge and --no-overlap: the request count and in-flight bound below are exact even on a busy machine.
		const result = await run([origin.url('/out.bin'), '-o', 'out.bin', '-c', '4', '--chunk-size', '512k', '--no-hedge', '--no-overlap']);
		expect(result.code).toBe(0);
		expect(result.stdout.byteLength).toBe(0);
		expect(fileSha256('out.bin')).toBe(await objectSha256(size, 21));
		expect(leftovers('out.bin')).toEqual(['out.bin']);
		// 11 chunks, one or two to a request.
		const requests = origin.requestsTo('/out.bin');
		expectChunkRuns(requests.map((request) => request.range), size, 512 * 1024);
		expect(lines(result.stderr)).toEqual([
			expect.stringMatching(new RegExp(`^out\\.bin: 5\\.0 MiB in [\\d.]+s \\([\\d.]+ [KMG]iB/s\\), ${requests.length} requests, up to [2-4] at once$`)),
		]);
		expect(origin.maxInFlight).toBeLessThanOrEqual(4);
	});

	it('-c auto: the file byte for byte, and the summary says what it settled on', async () => {
		const size = 6 * MiB + 7;
		origin.put('/auto.bin', { size, seed: 23 });
		const result = await run([origin.url('/auto.bin'), '-o', 'auto.bin', '-c', 'auto', '--chunk-size', '256k']);
		expect(result.code).toBe(0);
		expect(fileSha256('auto.bin')).toBe(await objectSha256(size, 23));
		expect(lines(result.stderr)).toEqual([expect.stringMatching(/^auto\.bin: 6\.0 MiB in .*, auto: \d+ connections at the end, \d+ at most$/)]);
		const [, end, most] = /auto: (\d+) connections at the end, (\d+) at most/.exec(lines(result.stderr)[0] as string) ?? [];
		// Within the bounds: 1 to 64, and one 256 KiB chunk of the 128 MiB budget per connection.
		expect(Number(end)).toBeGreaterThanOrEqual(1);
		expect(Number(most)).toBeGreaterThanOrEqual(Number(end));
		expect(Number(most)).toBeLessThanOrEqual(64);
	});

	it('writes to stdout without -o (and with -o -)', async () => {
		const size = 3 * MiB + 5;
		origin.put('/stdout.bin', { size, seed: 22 });
		const expected = await objectSha256(size, 22);
		for (const args of [[], ['-o', '-']]) {
			const result = await run([origin.url('/stdout.bin'), '--chunk-size', '256k', ...args]);
			expect(result.code).toBe(0);
			expect(sha256(result.stdout)).toBe(expected);
			expect(lines(result.stderr)).toEqual([expect.stringMatching(/^stdout: 3\.0 MiB in /)]);
		}
	});

	it('pipes into tar -xz: the files extracted are the files packed', async () => {
		const archive = buildArchive(2 * MiB);
		origin.put('/src.tar.gz', { body: archive.bytes, contentType: 'application/gzip' });
		const into = join(dir, 'extracted');
		rmSync(into, { recursive: true, force: true });
		const [command, ...prefix] = runtimes.node;
		const pipeline = `"${command}" ${prefix.map((arg) => `"${arg}"`).join(' ')} "${origin.url('/src.tar.gz')}" --chunk-size 256k -q | tar -xz -C extracted`;
		const child = spawn('sh', ['-c', `mkdir extracted && ${pipeline}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
		let stderr = '';
		child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
		const code = await new Promise((done) => child.on('close', done));
		expect(stderr).toBe('');
		expect(code).toBe(0);
		const extracted = archive.files.map((file) => ({ name: file.name, size: file.size, sha256: sha256(readFileSync(join(into, file.name))) }));
		expect(extracted).toEqual(archive.files);
		expect(origin.requestsTo('/src.tar.gz').length).toBeGreaterThan(1);
	});

	it('--quiet writes nothing to stderr', async () => {
		origin.put('/quiet.bin', { size: MiB, seed: 23 });
		const result = await run([origin.url('/quiet.bin'), '-q', '-o', 'quiet.bin']);
		expect(result).toMatchObject({ code: 0, stderr: '' });
		expect(fileSha256('quiet.bin')).toBe(await objectSha256(MiB, 23));
	});

	it('sends every -H header with every request', async () => {
		origin.put('/auth.bin', { size: MiB, seed: 24 });
		const result = await run([origin.url('/auth.bin'), '-q', '--no-hedge', '--no-overlap', '-c', '2', '--chunk-size', '256k', '-H', 'Authorization: Bearer t0k3n', '--header=X-Trace-Id: abc:1', '-o', 'auth.bin']);
		expect(result.code).toBe(0);
		const requests = origin.requestsTo('/auth.bin');
		expect(requests).toHaveLength(4);
		for (const request of requests) expect(request.headers).toMatchObject({ authorization: 'Bearer t0k3n', 'x-trace-id': 'abc:1' });
	});

	it('--help and --version write to stdout and exit 0', async () => {
		const help = await run(['--help']);
		expect(help.code).toBe(0);
		expect(help.stdout.toString()).toMatch(/^Usage: parallel-get-stream <url> \[options\]/);
		expect(help.stdout.toString()).toContain('8M = 8MiB = 8388608');
		const version = await run(['--version']);
		const { version: expected } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
		expect(version).toMatchObject({ code: 0, stderr: '' });
		expect(version.stdout.toString()).toBe(`${expected}\n`);
	});
});

/** util-linux `script` (Debian: bsdutils) runs a command on a pseudo-terminal. */
const hasScript = spawnSync('script', ['--version']).status === 0;
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * `describe` that runs where `script` is installed. Otherwise: under CI one failing test naming
 * the problem (a CI run that skipped these would prove nothing); elsewhere the block is skipped
 * and a line on stderr says why.
 */
function describeTerminal(name: string, body: () => void): void {
	if (hasScript) {
		describe(name, body);
		return;
	}
	const reason = 'no `script` on PATH (util-linux; Debian: apt-get install bsdutils)';
	if (inCi) {
		describe(name, () => {
			it('needs `script` (CI=true makes a missing one a failure)', () => {
				throw new Error(`Terminal tests cannot run: ${reason}`);
			});
		});
		return;
	}
	process.stderr.write(`\n[terminal tests] SKIPPED: ${reason}\n\n`);
	describe.skip(`${name} (skipped: ${reason})`, body);
}

/** Runs the CLI on a terminal (stdout and stderr both a pty); resolves with what the terminal showed. */
async function onTerminal(args: string[]): Promise<{ code: number | null; screen: string }> {
	const [command, ...prefix] = runtimes.node;
	const line = [command, ...prefix, ...args].map((arg) => `'${arg}'`).join(' ');
	const child = spawn('script', ['-qfec', line, '/dev/null'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COLUMNS: '100' } });
	let screen = '';
	child.stdout.setEncoding('utf8').on('data', (text: string) => (screen += text));
	const code = await new Promise<number | null>((done) => child.on('close', done));
	return { code, screen };
}

describeTerminal('parallel-get-stream CLI: on a terminal', () => {
	it('draws a progress bar in place (percentage, speed, time left, connections), then the summary', async () => {
		origin.put('/tty.bin', { size: 4 * MiB, seed: 32 });
		origin.fault('/tty.bin', () => ({ bytesPerSecond: 2 * MiB }));
		const { code, screen } = await onTerminal([origin.url('/tty.bin'), '-o', 'tty.bin', '-c', '4', '--chunk-size', '512k', '--no-hedge', '--no-overlap']);
		origin.fault('/tty.bin', undefined);
		expect(code).toBe(0);
		expect(fileSha256('tty.bin')).toBe(await objectSha256(4 * MiB, 32));
		const frames = screen.split('\r\u001B[K').filter((frame) => frame !== '');
		// About half a second at 10 redraws a second: a handful of frames, not one per piece.
		expect(frames.length).toBeGreaterThan(2);
		expect(frames.length).toBeLessThan(60);
		expect(frames.slice(0, -1).some((frame) => /^\s*\d+% \[=*>? *\] +[\d.]+ [KM]?i?B \/ 4\.0 MiB +[\d.]+ [KM]?i?B\/s +[\d.?-]+s? left  [1-4] conn$/.test(frame))).toBe(true);
		expect(frames.at(-1)).toMatch(/^tty\.bin: 4\.0 MiB in .*, 8 requests, up to 4 at once\r?\n$/);
	});

	it('--continue: says where it resumes, the bar starts from there, the summary names it', async () => {
		const size = 4 * MiB;
		origin.put('/tty-continue.bin', { size, seed: 45 });
		const etag = origin.get('/tty-continue.bin')!.etag;
		// Half the object already here, as an earlier run would have left it.
		writeFileSync(join(dir, 'tty-continue.bin.part'), objectSlice(size, 45, 0, 2 * MiB));
		writeFileSync(join(dir, 'tty-continue.bin.part.json'), JSON.stringify({ version: 1, checkpoint: { url: origin.url('/tty-continue.bin'), offset: 2 * MiB, size, etag } }));
		origin.fault('/tty-continue.bin', () => ({ bytesPerSecond: 2 * MiB }));
		const { code, screen } = await onTerminal([origin.url('/tty-continue.bin'), '-o', 'tty-continue.bin', '-c', '4', '--chunk-size', '256k', '--no-hedge', '--no-overlap', '-C']);
		origin.fault('/tty-continue.bin', undefined);
		expect(code).toBe(0);
		expect(fileSha256('tty-continue.bin')).toBe(await objectSha256(size, 45));
		expect(screen).toMatch(/^parallel-get-stream: resuming tty-continue\.bin\.part at 2\.0 MiB of 4\.0 MiB \(50%\)\r?\n/);
		const frames = screen.split('\r\u001B[K').filter((frame) => frame !== '');
		const percents = frames.flatMap((frame) => /^\s*(\d+)% \[/.exec(frame)?.[1] ?? []).map(Number);
		expect(percents.length).toBeGreaterThan(0);
		expect(Math.min(...percents)).toBeGreaterThanOrEqual(50);
		expect(frames.at(-1)).toMatch(/^tty-continue\.bin: 2\.0 MiB in .*, resumed at 2\.0 MiB, \d+ requests, up to [1-4] at once\r?\n$/);
	});

	it('-c auto: the bar says how many connections it uses', async () => {
		origin.put('/tty-auto.bin', { size: 4 * MiB, seed: 33 });
		origin.fault('/tty-auto.bin', () => ({ bytesPerSecond: 2 * MiB }));
		const { code, screen } = await onTerminal([origin.url('/tty-auto.bin'), '-o', 'tty-auto.bin', '-c', 'auto', '--chunk-size', '256k']);
		origin.fault('/tty-auto.bin', undefined);
		expect(code).toBe(0);
		expect(fileSha256('tty-auto.bin')).toBe(await objectSha256(4 * MiB, 33));
		const frames = screen.split('\r\u001B[K').filter((frame) => frame !== '');
		expect(frames.slice(0, -1).some((frame) => / left  \d+ conn \(auto\)$/.test(frame))).toBe(true);
		expect(frames.at(-1)).toMatch(/, auto: \d+ connections at the end, \d+ at most\r?\n$/);
	});

	it('refuses to write binary data to the terminal without -o: exit 2, no request', async () => {
		const { code, screen } = await onTerminal([origin.url('/tty.bin')]);
		expect(code).toBe(2);
		expect(screen).toMatch(/^parallel-get-stream: refusing to write binary data to a terminal: use -o FILE, or pipe the output\r?\n/);
		expect(origin.requests).toHaveLength(0);
	});
});

describe('parallel-get-stream CLI: failures', () => {
	it.each([
		[[], /missing <url>/],
		[['http://127.0.0.1:9/x', '--chunk-size', '8MB'], /ambiguous/],
		[['http://127.0.0.1:9/x', '-c', '0'], /-c expects a whole number from 1 to 256/],
		[['http://127.0.0.1:9/x', '--bogus'], /unknown option `--bogus`/],
		[['http://127.0.0.1:9/x', '-H', 'Range: bytes=0-1'], /must not contain `range`/],
	])('bad arguments %j: exit 2, the reason and the usage on stderr, no request', async (args, reason) => {
		const result = await run(args);
		expect(result.code).toBe(2);
		expect(result.stdout.byteLength).toBe(0);
		const [first, ...rest] = lines(result.stderr);
		expect(first).toMatch(/^parallel-get-stream: /);
		expect(first).toMatch(reason);
		expect(rest.join('\n')).toMatch(/^Usage: parallel-get-stream <url> \[-o FILE\]/);
		expect(origin.requests).toHaveLength(0);
	});

	it('404: exit 1, one line naming the code and the status, no file', async () => {
		const result = await run([origin.url('/missing.bin'), '-o', 'missing.bin']);
		expect(result.code).toBe(1);
		expect(lines(result.stderr)).toEqual([expect.stringMatching(/^parallel-get-stream: ERR_UNEXPECTED_RESPONSE: .*\[HTTP 404\].*status 404 Not Found$/)]);
		expect(leftovers('missing.bin')).toEqual([]);
	});

	it('object replaced mid-download: ERR_REVISION_CHANGED, exit 1, neither FILE nor FILE.part', async () => {
		const path = '/replaced.bin';
		origin.put(path, { size: 4 * MiB, seed: 25 });
		origin.fault(path, (request) => {
			if (request.count === 4) origin.put(path, { size: 4 * MiB, seed: 26 });
			// Slow enough that the .part file exists before the verdict.
			return { bytesPerSecond: 4 * MiB };
		});
		const result = await run([origin.url(path), '-o', 'replaced.bin', '-c', '2', '--chunk-size', '256k']);
		origin.fault(path, undefined);
		expect(result.code).toBe(1);
		expect(lines(result.stderr)).toEqual([expect.stringMatching(/^parallel-get-stream: ERR_REVISION_CHANGED: The object changed during the download: 412 Precondition Failed/)]);
		expect(leftovers('replaced.bin')).toEqual([]);
		expect(origin.requestsTo(path).some((request) => request.status === 412)).toBe(true);
	});

	it('5xx on every retry: ERR_RETRIES_EXHAUSTED with the status, exit 1, FILE.part and its sidecar kept for --continue', async () => {
		const path = '/down.bin';
		origin.put(path, { size: 2 * MiB, seed: 27 });
		origin.fault(path, (request) => (request.count >= 2 ? { status: 503 } : undefined));
		const result = await run([origin.url(path), '-o', 'down.bin', '--chunk-size', '512k', '-c', '2', '--retries', '1']);
		origin.fault(path, undefined);
		expect(result.code).toBe(1);
		expect(lines(result.stderr)).toEqual([
			expect.stringMatching(/^parallel-get-stream: ERR_RETRIES_EXHAUSTED: Gave up after 2 attempts .*\[HTTP 503\].* \(kept down\.bin\.part \(.*\) and down\.bin\.part\.json: --continue goes on from there\)$/),
		]);
		expect(leftovers('down.bin')).toEqual(['down.bin.part', 'down.bin.part.json']);
		rmSync(join(dir, 'down.bin.part'));
		rmSync(join(dir, 'down.bin.part.json'));
	});

	it('connection refused: the system error code in the line, exit 1', async () => {
		const port = await closedPort();
		const result = await run([`http://127.0.0.1:${port}/x`, '-o', 'refused.bin', '--retries', '0']);
		expect(result.code).toBe(1);
		expect(lines(result.stderr)).toEqual([expect.stringMatching(/^parallel-get-stream: ERR_RETRIES_EXHAUSTED: .*\(ECONNREFUSED\)$/)]);
		expect(leftovers('refused.bin')).toEqual([]);
	});

	it('stdout closed by the reader (`| head -c`): one EPIPE line, exit 1, every request stopped', async () => {
		origin.put('/head.bin', { size: 64 * MiB, seed: 31 });
		const { child, exit } = start([origin.url('/head.bin'), '--chunk-size', '1M']);
		child.stdout?.once('data', () => child.stdout?.destroy());
		const result = await exit;
		expect(result.code).toBe(1);
		expect(lines(result.stderr)).toEqual(['parallel-get-stream: stdout was closed before the end of the download (EPIPE)']);
		await origin.whenIdle();
		expect(origin.requestsTo('/head.bin').length).toBeLessThan(64);
	});

	it('an output that cannot be written: the error, exit 1, and every request stopped', async () => {
		origin.put('/nowhere.bin', { size: 4 * MiB, seed: 28 });
		const result = await run([origin.url('/nowhere.bin'), '-o', 'no/such/dir/f.bin', '--chunk-size', '256k']);
		expect(result.code).toBe(1);
		expect(lines(result.stderr)).toEqual([expect.stringMatching(/^parallel-get-stream: ENOENT: /)]);
		await origin.whenIdle();
		// Discovery and at most one window of chunks were started; not the whole object.
		expect(origin.requestsTo('/nowhere.bin').length).toBeLessThan(16);
	});
});

describe('parallel-get-stream CLI: interrupts', () => {
	it.each([
		['SIGINT', 130],
		['SIGTERM', 143],
	] as const)('%s during a slow download: exits %d promptly, aborts every request, keeps FILE.part and its sidecar; --continue finishes it by hash', async (signal, status) => {
		const path = `/slow-${signal}.bin`;
		const size = 16 * MiB;
		origin.put(path, { size, seed: 29 });
		// About 16 s at full speed: the signal always lands mid-download.
		origin.fault(path, () => ({ bytesPerSecond: 256 * KiB }));
		const name = `slow-${signal}.bin`;
		const { child, exit } = start([origin.url(path), '-o', name, '-c', '4', '--chunk-size', '1M']);
		const part = join(dir, `${name}.part`);
		const deadline = performance.now() + 10_000;
		// Mid-download: bytes written, and every connection busy.
		while (!(existsSync(part) && statSync(part).size > 0 && origin.inFlight === 4)) {
			if (performance.now() > deadline) throw new Error('the download did not get going in 10 s');
			await new Promise((wait) => setTimeout(wait, 20));
		}
		const inFlight = origin.inFlight;
		const sent = performance.now();
		child.kill(signal);
		const result = await exit;
		origin.fault(path, undefined);
		expect(performance.now() - sent).toBeLessThan(2000);
		expect(result.code).toBe(status);
		const kept = sidecar(name);
		expect(lines(result.stderr)).toEqual([
			`parallel-get-stream: interrupted by ${signal}, kept ${name}.part (${formatBytes(kept.offset)}) and ${name}.part.json: --continue goes on from there`,
		]);
		expect(leftovers(name)).toEqual([`${name}.part`, `${name}.part.json`]);
		// Flushed on the way out: the sidecar claims every byte written.
		expect(statSync(part).size).toBe(kept.offset);
		expect(kept).toMatchObject({ url: origin.url(path), size, etag: origin.get(path)!.etag });
		await origin.whenIdle();
		const requests = origin.requestsTo(path);
		expect(requests.filter((request) => request.aborted).length).toBeGreaterThanOrEqual(inFlight);
		expect(requests.every((request) => request.aborted || request.bytesSent === MiB)).toBe(true);

		origin.resetStats();
		const resumed = await run([origin.url(path), '-o', name, '-c', '4', '--chunk-size', '1M', '--continue']);
		expect(resumed.code).toBe(0);
		expect(lines(resumed.stderr)).toEqual([
			`parallel-get-stream: resuming ${name}.part at ${formatBytes(kept.offset)} of 16.0 MiB (${Math.floor((kept.offset / size) * 100)}%)`,
			expect.stringMatching(new RegExp(`^${name}: .* in .*, resumed at ${formatBytes(kept.offset).replace('.', '\\.')}, \\d+ requests`)),
		]);
		expect(fileSha256(name)).toBe(await objectSha256(size, 29));
		expect(leftovers(name)).toEqual([name]);
		expectResumedAt(path, kept.offset, size);
	});

	it('SIGKILL mid-download: the sidecar is never ahead of the data on disk, and --continue gives the right file by hash', async () => {
		const path = '/killed.bin';
		const size = 12 * MiB;
		origin.put(path, { size, seed: 41 });
		origin.fault(path, () => ({ bytesPerSecond: 512 * KiB }));
		const name = 'killed.bin';
		const { child, exit } = start([origin.url(path), '-o', name, '-c', '4', '--chunk-size', '512k']);
		// Killed once the sidecar has claimed some bytes: no handler runs, nothing is flushed on the way out.
		await waitForSidecar(name, 1);
		child.kill('SIGKILL');
		const result = await exit;
		origin.fault(path, undefined);
		expect(result.code).toBe(null);
		const kept = sidecar(name);
		expect(statSync(join(dir, `${name}.part`)).size).toBeGreaterThanOrEqual(kept.offset);
		expect(kept.offset).toBeLessThan(size);
		await origin.whenIdle();
		origin.resetStats();
		const resumed = await run([origin.url(path), '-o', name, '-c', '4', '--chunk-size', '512k', '-C']);
		expect(resumed.code).toBe(0);
		expect(fileSha256(name)).toBe(await objectSha256(size, 41));
		expect(leftovers(name)).toEqual([name]);
		expectResumedAt(path, kept.offset, size);
	});
});

describe('parallel-get-stream CLI: --continue refuses what it cannot continue', () => {
	it('a changed object: one line that says how to start over, exit 1, the files left as they were', async () => {
		const path = '/changed-continue.bin';
		const name = 'changed-continue.bin';
		origin.put(path, { size: 4 * MiB, seed: 42 });
		writeFileSync(join(dir, `${name}.part`), new Uint8Array(MiB));
		writeFileSync(join(dir, `${name}.part.json`), JSON.stringify({ version: 1, checkpoint: { url: origin.url(path), offset: MiB, size: 4 * MiB, etag: '"an-older-revision"' } }));
		const result = await run([origin.url(path), '-o', name, '--continue']);
		expect(result.code).toBe(1);
		expect(lines(result.stderr)).toEqual([
			expect.stringMatching(new RegExp(`^parallel-get-stream: ${name} changed on the server since ${name}\\.part was started \\(ERR_REVISION_CHANGED: .*412 Precondition Failed.*\\): --continue cannot apply; run without --continue to start over$`)),
		]);
		expect(leftovers(name)).toEqual([`${name}.part`, `${name}.part.json`]);
		expect(statSync(join(dir, `${name}.part`)).size).toBe(MiB);
		// Without --continue, a new run starts over and replaces them.
		const again = await run([origin.url(path), '-o', name, '-q']);
		expect(again.code).toBe(0);
		expect(fileSha256(name)).toBe(await objectSha256(4 * MiB, 42));
		expect(leftovers(name)).toEqual([name]);
	});

	it.each([
		['a .part without its sidecar', true, undefined, /^parallel-get-stream: x\.bin\.part has no x\.bin\.part\.json beside it: --continue cannot tell how much of it is good; remove x\.bin\.part, or run without --continue, to start over$/],
		['a sidecar without its .part', false, '{"version":1,"checkpoint":{}}', /^parallel-get-stream: x\.bin\.part\.json has no x\.bin\.part beside it/],
		['a sidecar that is not JSON', true, '{"version":1,', /^parallel-get-stream: x\.bin\.part\.json is not valid JSON: run without --continue to start over$/],
		['a sidecar of another program', true, '{"offset":3}', /^parallel-get-stream: x\.bin\.part\.json is not a checkpoint of this program/],
		['a sidecar without a validator', true, '{"version":1,"checkpoint":{"url":"u","offset":3,"size":10}}', /^parallel-get-stream: x\.bin\.part\.json: Expected `resume` to carry the validator .*: run without --continue to start over$/],
		['a sidecar ahead of the data', true, '{"version":1,"checkpoint":{"url":"u","offset":3000,"size":5000,"etag":"\\"a\\""}}', /^parallel-get-stream: x\.bin\.part holds 1000 bytes, fewer than the 3000 that x\.bin\.part\.json claims/],
	])('%s: one line, exit 1, no request, nothing touched', async (_case, part, json, message) => {
		const sub = mkdtempSync(join(dir, 'refuse-'));
		if (part) writeFileSync(join(sub, 'x.bin.part'), new Uint8Array(1000));
		if (json !== undefined) writeFileSync(join(sub, 'x.bin.part.json'), json);
		const result = await run([origin.url('/anything.bin'), '-o', join(sub, 'x.bin'), '-C'], 'node', sub);
		expect(result.code).toBe(1);
		expect(lines(result.stderr.replaceAll(`${sub}/`, ''))).toEqual([expect.stringMatching(message)]);
		expect(origin.requests).toHaveLength(0);
		expect(readdirSync(sub).sort()).toEqual([...(part ? ['x.bin.part'] : []), ...(json === undefined ? [] : ['x.bin.part.json'])]);
	});

	it('nothing to continue: --continue starts from the beginning', async () => {
		origin.put('/fresh.bin', { size: MiB + 3, seed: 43 });
		const result = await run([origin.url('/fresh.bin'), '-o', 'fresh.bin', '-C', '-q']);
		expect(result).toMatchObject({ code: 0, stderr: '' });
		expect(fileSha256('fresh.bin')).toBe(await objectSha256(MiB + 3, 43));
	});
});

describe.each(['deno', 'bun'] as const)('parallel-get-stream CLI under %s', (runtime) => {
	it('writes -o FILE and stdout byte for byte', async () => {
		const size = 3 * MiB + 77;
		const path = `/${runtime}.bin`;
		origin.put(path, { size, seed: 30 });
		const expected = await objectSha256(size, 30);
		const toFile = await run([origin.url(path), '-o', `${runtime}.bin`, '-c', '4', '--chunk-size', '512k', '--no-hedge', '--no-overlap'], runtime);
		expect(toFile.stderr).toMatch(new RegExp(`^${runtime}\\.bin: 3\\.0 MiB in .*, 7 requests, up to [2-4] at once\\n$`));
		expect(toFile.code).toBe(0);
		expect(fileSha256(`${runtime}.bin`)).toBe(expected);
		expect(leftovers(`${runtime}.bin`)).toEqual([`${runtime}.bin`]);
		const toStdout = await run([origin.url(path), '-q', '--chunk-size', '512k'], runtime);
		expect(toStdout).toMatchObject({ code: 0, stderr: '' });
		expect(sha256(toStdout.stdout)).toBe(expected);
	});

	it('--continue after a kill -9 gives the right file by hash, from the sidecar it wrote itself', async () => {
		const size = 6 * MiB;
		const path = `/${runtime}-continue.bin`;
		const name = `${runtime}-continue.bin`;
		origin.put(path, { size, seed: 44 });
		origin.fault(path, () => ({ bytesPerSecond: 512 * KiB }));
		const { child, exit } = start([origin.url(path), '-o', name, '-c', '4', '--chunk-size', '256k'], runtime);
		await waitForSidecar(name, 1);
		child.kill('SIGKILL');
		await exit;
		origin.fault(path, undefined);
		const kept = sidecar(name);
		expect(kept.offset).toBeLessThan(size);
		await origin.whenIdle();
		origin.resetStats();
		const resumed = await run([origin.url(path), '-o', name, '-c', '4', '--chunk-size', '256k', '--continue'], runtime);
		expect(resumed.stderr).toMatch(new RegExp(`^parallel-get-stream: resuming ${name}\\.part at `));
		expect(resumed.code).toBe(0);
		expect(fileSha256(name)).toBe(await objectSha256(size, 44));
		expect(leftovers(name)).toEqual([name]);
		expectResumedAt(path, kept.offset, size);
	});
});

describe('parallel-get-stream CLI: a slow reader', () => {
	it('stdout to a reader that stops: the download stops within its window, then goes on byte for byte', async () => {
		const size = 64 * MiB;
		const path = '/paused.bin';
		origin.put(path, { size, seed: 33 });
		const [command, ...prefix] = runtimes.node;
		const child = spawn(command, [...prefix, origin.url(path), '-q', '-c', '2', '--chunk-size', '256k', '--no-hedge', '--no-overlap'], {
			cwd: dir,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		const exit = new Promise<number | null>((done) => child.on('close', done));
		// Nobody reads stdout: once the pipe and the window are full, the download must wait.
		child.stdout.pause();
		let sent = -1;
		for (;;) {
			await new Promise((wait) => setTimeout(wait, 300));
			const now = origin.requestsTo(path).reduce((total, record) => total + record.bytesSent, 0);
			if (now === sent && origin.inFlight === 0) break;
			sent = now;
		}
		// The window (2 x 2 chunks of 256 KiB), what the pipe and the stream buffers hold, and the
		// requests in flight: a few MiB of the 64.
		expect(sent).toBeGreaterThan(0);
		expect(sent).toBeLessThan(8 * MiB);
		const hash = createHash('sha256');
		child.stdout.on('data', (piece: Buffer) => hash.update(piece));
		child.stdout.resume();
		expect(await exit).toBe(0);
		expect(hash.digest('hex')).toBe(await objectSha256(size, 33));
	});
});
