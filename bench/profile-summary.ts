/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- --cpu-prof <dir>`): self time by area and
 * the top functions, so that profiles of the library and of one fetch() compare at a glance.
 * Usage: node bench/profile-summary.ts <file.cpuprofile>... [--top 25]
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}

interface Profile {
	nodes: ProfileNode[];
	startTime: number;
	endTime: number;
	samples: number[];
	timeDeltas: number[];
}

/** Where a function lives, coarse enough to compare two profiles. */
function area(url: string, name: string): string {
	if (name === '(idle)') return 'idle';
	if (name === '(garbage collector)') return 'GC';
	if (name === '(program)') return 'V8/native (program)';
	if (url.includes('/src/')) return 'library (src/)';
	if (url.includes('/node_modules/ky/')) return 'ky';
	if (url.includes('/bench/')) return 'bench client (hash, loop)';
	if (url.includes('internal/deps/undici')) return 'undici (fetch)';
	if (url.includes('internal/webstreams')) return 'web streams';
	if (url.includes('internal/abort_controller') || url.includes('internal/event_target')) return 'AbortSignal/EventTarget';
	if (url.startsWith('node:') || url === '') return url === '' ? `native: ${name || '(anonymous)'}` : 'other node internals';
	return url;
}

async function summarize(file: string, top: number): Promise<string> {
	const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
	const byId = new Map(profile.nodes.map((node) => [node.id, node]));
	const self = new Map<number, number>();
	for (let index = 0; index < profile.samples.length; index++) {
		const id = profile.samples[index] ?? 0;
		self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
	}
	const total = profile.endTime - profile.startTime;
	const areas = new Map<string, number>();
	const functions = new Map<string, number>();
	for (const [id, micros] of self) {
		const node = byId.get(id);
		if (!node) continue;
		const { functionName, url, lineNumber } = node.callFrame;
		const name = functionName || '(anonymous)';
		const where = area(url, name);
		areas.set(where, (areas.get(where) ?? 0) + micros);
		const key = `${name}  ${url ? `${url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}:${lineNumber + 1}` : ''}`;
		functions.set(key, (functions.get(key) ?? 0) + micros);
	}
	const percent = (micros: number): string => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
	const ms = (micros: number): string => `${(micros / 1000).toFixed(0).padStart(6)} ms`;
	const lines = [`${basename(file)}: ${(total / 1000).toFixed(0)} ms profiled`, '  self time by area:'];
	for (const [where, micros] of [...areas].sort((a, b) => b[1] - a[1])) lines.push(`  ${ms(micros)} ${percent(micros)}  ${where}`);
	lines.push(`  top ${top} functions (self):`);
	for (const [key, micros] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${ms(micros)} ${percent(micros)}  ${key}`);
	return lines.join('\n');
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string' } }, allowPositionals: true });
if (positionals.length === 0) {
	console.error('usage: node bench/profile-summary.ts <file.cpuprofile>... [--top 25]');
	process.exit(2);
}
for (const file of positionals) console.log(`${await summarize(file, Number(values.top ?? 25))}\n`);
