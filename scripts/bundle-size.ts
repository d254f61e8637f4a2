/**
 * Prints the size of the library's own code as a browser bundle holds it: the index entry
 * bundled from the sources with rolldown, `ky` left external (an application has it anyway, or
 * brings its own instance), minified, then gzipped. `npm run size`; the figure must not grow.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rolldown } from 'rolldown';

const root = join(import.meta.dirname, '..');

async function main(): Promise<void> {
	const bundle = await rolldown({ input: join(root, 'src/index.ts'), cwd: root, platform: 'browser', external: ['ky'], logLevel: 'warn' });
	try {
		const { output } = await bundle.generate({ format: 'esm', minify: true });
		const code = output.map((part) => (part.type === 'chunk' ? part.code : '')).join('');
		const minified = Buffer.byteLength(code);
		const gzipped = gzipSync(code).byteLength;
		console.log(`index, ky external: ${minified} bytes minified, ${gzipped} bytes min+gzip`);
	} finally {
		await bundle.close();
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
