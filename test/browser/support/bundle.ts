import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rolldown } from 'rolldown';
import { root } from './site.ts';

/**
 * What the service-worker example asks its user to do: copy the page and bundle `sw.js` into
 * `sw.bundle.js` (service workers cannot use import maps), with the dynamic import of the hash code
 * inlined (service workers cannot `import()` either). `parallel-get-stream` resolves through
 * the package's own `exports`, so the bundle holds the built `dist/`, as a user's would.
 */
export async function buildServiceWorkerExample(): Promise<{ dir: string; remove: () => Promise<void> }> {
	const dir = await mkdtemp(join(tmpdir(), 'pgs-sw-example-'));
	const source = join(root, 'examples/service-worker');
	await cp(source, dir, { recursive: true });
	const bundle = await rolldown({ input: join(source, 'sw.js'), cwd: root, platform: 'browser', logLevel: 'warn' });
	try {
		await bundle.write({ file: join(dir, 'sw.bundle.js'), format: 'esm', codeSplitting: false });
	} finally {
		await bundle.close();
	}
	return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A service worker of the tests' own, `test/browser/workers/<name>.js`, bundled the same way into
 * `<name>.bundle.js`, beside its page `<name>.html` (a copy of `page.html`) that registers it.
 */
export async function buildTestWorker(name: string): Promise<{ dir: string; remove: () => Promise<void> }> {
	const dir = await mkdtemp(join(tmpdir(), `pgs-sw-${name}-`));
	const source = join(root, 'test/browser/workers');
	await cp(join(source, 'page.html'), join(dir, `${name}.html`));
	const bundle = await rolldown({ input: join(source, `${name}.js`), cwd: root, platform: 'browser', logLevel: 'warn' });
	try {
		await bundle.write({ file: join(dir, `${name}.bundle.js`), format: 'esm', codeSplitting: false });
	} finally {
		await bundle.close();
	}
	return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
