/**
 * Makes the emitted declarations usable by every consumer:
 * - tsc's `rewriteRelativeImportExtensions` rewrites `./x.ts` to `./x.js` in the JavaScript it
 *   emits but leaves `./x.ts` in the `.d.ts` files, which the package does not ship: TypeScript
 *   users would get `any` and `deno check` fails with TS2307. Rewritten to `.js` here.
 * - Deno maps a local `.js` import to its types only through a `@ts-self-types` directive, so
 *   each emitted `.js` names its `.d.ts` (source maps shifted by the added line).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

const relativeTs = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*?)\.ts\2/g;

async function* files(dir: string): AsyncGenerator<string> {
	for (const entry of await readdir(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) yield* files(path);
		else yield path;
	}
}

async function rewrite(path: string, change: (text: string) => string): Promise<boolean> {
	const text = await readFile(path, 'utf8');
	const changed = change(text);
	if (changed !== text) await writeFile(path, changed);
	return changed !== text;
}

/** Inserts `line` as the first line, or the second after a `#!` line; shifts the source map to match. */
async function insertLine(js: string, line: string): Promise<void> {
	let after = 0;
	await rewrite(js, (text) => {
		if (text.includes(line)) return text;
		after = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
		return `${text.slice(0, after)}${line}\n${text.slice(after)}`;
	});
	await rewrite(`${js}.map`, (text) => {
		const map = JSON.parse(text) as { mappings: string };
		const at = after === 0 ? 0 : map.mappings.indexOf(';') + 1;
		map.mappings = `${map.mappings.slice(0, at)};${map.mappings.slice(at)}`;
		return JSON.stringify(map);
	}).catch(() => false);
}

const dir = process.argv[2] ?? 'dist';
let declarations = 0;
const all: string[] = [];
for await (const path of files(dir)) all.push(path);
for (const path of all) {
	if (path.endsWith('.d.ts')) {
		if (await rewrite(path, (text) => text.replace(relativeTs, '$1$2$3.js$2'))) declarations++;
	} else if (path.endsWith('.js') && all.includes(`${path.slice(0, -3)}.d.ts`)) {
		await insertLine(path, `// @ts-self-types="./${basename(path, '.js')}.d.ts"`);
	}
}
if (declarations === 0) throw new Error('no declaration file needed rewriting: has the build changed?');
