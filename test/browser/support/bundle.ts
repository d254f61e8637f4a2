import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { rolldown } from 'rolldown';
import { afterAll, beforeAll } from 'vitest';
import type { Origin } from '../../support/origin.ts';
import { root, startSite } from './site.ts';

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

/** Loads `url` in `page` and waits until the service worker it registers controls the page. */
export async function openControlled(page: Page, url: string): Promise<void> {
	await page.goto(url);
	await page.waitForSelector('#status[data-state=ready]', { timeout: 20_000 });
}

/**
 * For the tests of one file: the origin `start()` gives (`startSite`'s by default) serving the test
 * worker `name` and its page under `/sw/`, from before the first test to after the last.
 * `open(page, query)` loads that page and waits until the worker controls it.
 */
export function useTestWorker(name: string, start: () => Promise<Origin> = startSite): { readonly site: Origin; open(page: Page, query?: string): Promise<void> } {
	let site: Origin | undefined;
	let worker: Awaited<ReturnType<typeof buildTestWorker>> | undefined;
	beforeAll(async () => {
		[site, worker] = await Promise.all([start(), buildTestWorker(name)]);
		site.serveDir('/sw/', worker.dir);
	});
	afterAll(async () => {
		await site?.close();
		await worker?.remove();
	});
	return {
		get site(): Origin {
			if (!site) throw new Error(`the site of the ${name} worker is not started (outside its tests)`);
			return site;
		},
		open(page, query = '') {
			return openControlled(page, this.site.url(`/sw/${name}.html${query}`));
		},
	};
}
