/**
 * Prints the size of the library's own code as a browser bundle holds it: the index entry
 * bundled from the sources with rolldown (no dependency is imported at once: hash-wasm comes with
 * the code that verifies, ky only as the caller's own instance), minified, then gzipped. `npm run size`; the figure must not grow.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rolldown } from 'rolldown';

const root = join(import.meta.dirname, '..');

async function main(): Promise<void> {
	const bundle = await rolldown({ input: join(root, 'src/index.ts'), cwd: root, platform: 'browser', logLevel: 'warn' });
	try {
		const { output } = await bundle.generate({ format: 'esm', minify: true });
		const chunks = output.filter((part) => part.type === 'chunk');
		// What an import of the package loads at once: the entry and what it imports statically.
		// The code that verifies (the hash, the digest headers' parsing, the verifier) is a chunk of
		// its own, imported only when something is to be verified.
		const eager = new Set<string>();
		const visit = (name: string): void => {
			if (eager.has(name)) return;
			eager.add(name);
			for (const imported of chunks.find((part) => part.fileName === name)?.imports ?? []) visit(imported);
		};
		for (const part of chunks) if (part.isEntry) visit(part.fileName);
		const size = (parts: typeof chunks): string => {
			const code = parts.map((part) => part.code).join('');
			return `${Buffer.byteLength(code)} bytes minified, ${gzipSync(code).byteLength} bytes min+gzip`;
		};
		console.log(`index: ${size(chunks.filter((part) => eager.has(part.fileName)))}`);
		const lazy = chunks.filter((part) => !eager.has(part.fileName));
		if (lazy.length > 0) console.log(`loaded on demand (the code that verifies, when verifying): ${size(lazy)}`);
	} finally {
		await bundle.close();
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
