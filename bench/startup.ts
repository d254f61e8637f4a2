/**
 * `node bench/startup.ts [--runs 10] [--size 1MiB]` (after `npm run build`): what the CLI's
 * start-up costs, in wall time from spawn to exit, against `node -e 0`, and a small download end
 * to end against one `fetch()` in a Node script, curl and aria2c. Each round runs every command once, in turn, so that a busy
 * machine slows them alike; one round first warms the disk cache and Node's compile cache (the
 * CLI enables it, see `src/cli/bin.ts`). `--version` is also run with the cache off, as on a
 * first run. The object comes from the benchmark's origin in a process of its own, unshaped.
 * Prints the medians and each one's ratio to `node -e 0`; every download is checked by SHA-256.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../src/cli/size.ts';
import { median, prepareObject } from './harness.ts';
import { startOriginProcess } from './origin.ts';
import { available } from './tools.ts';

interface Command {
	readonly name: string;
	readonly program: string;
	readonly args: readonly string[];
	readonly env?: NodeJS.ProcessEnv;
	/** The file it writes, checked by hash after each run. */
	readonly output?: string;
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, size: { type: 'string', default: '1MiB' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new TypeError(`--runs must be a positive integer, not ${values.runs}`);
const size = parseSize(values.size);

const bin = new URL('../dist/cli/bin.js', import.meta.url).pathname;
if (!existsSync(bin)) throw new Error('dist/cli/bin.js is missing: run `npm run build` first');

const dir = mkdtempSync(join(tmpdir(), 'pgs-startup-'));
const origin = await startOriginProcess();
try {
	const object = await prepareObject(origin, size, 5);
	const node = process.execPath;
	const file = (name: string): string => join(dir, name);
	const commands: Command[] = [
		{ name: 'node -e 0', program: node, args: ['-e', '0'] },
		{ name: 'parallel-get-stream --version', program: node, args: [bin, '--version'] },
		{ name: 'parallel-get-stream --version, no compile cache', program: node, args: [bin, '--version'], env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
		{ name: `parallel-get-stream -q -o FILE (${values.size})`, program: node, args: [bin, '-q', '-o', file('library.bin'), object.url], output: file('library.bin') },
		{
			name: `node: one fetch() to FILE (${values.size})`,
			program: node,
			args: ['-e', `fetch(${JSON.stringify(object.url)}).then((r) => r.arrayBuffer()).then((b) => require('node:fs').writeFileSync(${JSON.stringify(file('fetch.bin'))}, Buffer.from(b)))`],
			output: file('fetch.bin'),
		},
		...(available('curl') ? [{ name: `curl -sS -o FILE (${values.size})`, program: 'curl', args: ['-sS', '-o', file('curl.bin'), object.url], output: file('curl.bin') }] : []),
		...(available('aria2c')
			? [{ name: `aria2c -x8 -s8 (${values.size})`, program: 'aria2c', args: ['-q', '-x8', '-s8', '--file-allocation=none', '--allow-overwrite=true', '-d', dir, '-o', 'aria2.bin', object.url], output: file('aria2.bin') }]
			: []),
	];
	const times = new Map<string, number[]>(commands.map((command) => [command.name, []]));
	for (let round = 0; round <= runs; round++) {
		for (const command of commands) {
			if (command.output) rmSync(command.output, { force: true });
			const started = process.hrtime.bigint();
			const result = spawnSync(command.program, command.args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...command.env } });
			const ms = Number(process.hrtime.bigint() - started) / 1e6;
			if (result.status !== 0) throw new Error(`${command.name} exited ${result.status}: ${result.stderr.toString()}`);
			if (command.output) {
				const sha256 = createHash('sha256').update(readFileSync(command.output)).digest('hex');
				if (sha256 !== object.sha256) throw new Error(`${command.name} wrote other bytes (sha256 ${sha256})`);
			}
			// Round 0 warms the caches.
			if (round > 0) times.get(command.name)?.push(ms);
		}
	}
	const base = median(times.get('node -e 0') ?? []) ?? Number.NaN;
	console.log(`Node ${process.version}, ${runs} rounds, wall ms from spawn to exit (medians; min-max)`);
	console.log('| command | ms | min-max | / node -e 0 |');
	console.log('| --- | ---: | ---: | ---: |');
	for (const [name, list] of times) {
		const m = median(list) ?? Number.NaN;
		console.log(`| ${name} | ${m.toFixed(1)} | ${Math.min(...list).toFixed(1)}-${Math.max(...list).toFixed(1)} | ${(m / base).toFixed(2)} |`);
	}
} finally {
	await origin.close();
	rmSync(dir, { recursive: true, force: true });
}
