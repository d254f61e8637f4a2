/**
 * Finds and launches a local Chromium for the browser tests (never downloads one).
 *
 * `CHROMIUM_PATH` wins; otherwise the usual names are looked up on PATH. Without a browser the
 * tests are skipped with a message saying so, except under `CI=true`, where a missing browser
 * fails the run: a CI job that silently skipped them would prove nothing.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';

const names = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome', 'chrome'];

function executable(path: string): boolean {
	try {
		accessSync(path, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

export function findChromium(): string | undefined {
	const configured = process.env.CHROMIUM_PATH;
	if (configured) return executable(configured) ? configured : undefined;
	for (const dir of (process.env.PATH ?? '').split(delimiter)) {
		if (!dir) continue;
		for (const name of names) {
			const candidate = join(dir, name);
			if (executable(candidate)) return candidate;
		}
	}
	return undefined;
}

export const chromiumPath = findChromium();
const inCi = process.env.CI === 'true' || process.env.CI === '1';
let warned = false;

/**
 * `describe` that runs when Chromium is present. Otherwise: under CI one failing test naming the
 * problem; elsewhere the block is skipped and a line on stderr says why.
 */
export function describeChromium(name: string, body: () => void): void {
	if (chromiumPath) {
		describe(name, body);
		return;
	}
	const reason = process.env.CHROMIUM_PATH
		? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable`
		: `no Chromium found on PATH (${names.join(', ')}); set CHROMIUM_PATH`;
	if (inCi) {
		describe(name, () => {
			it('needs Chromium (CI=true makes a missing browser a failure)', () => {
				throw new Error(`Browser tests cannot run: ${reason}`);
			});
		});
		return;
	}
	if (!warned) {
		warned = true;
		process.stderr.write(`\n[browser tests] SKIPPED: ${reason}\n\n`);
	}
	describe.skip(`${name} (skipped: ${reason})`, body);
}

export async function launchChromium(): Promise<Browser> {
	if (!chromiumPath) throw new Error('Chromium not found');
	return chromium.launch({
		executablePath: chromiumPath,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--disable-dev-shm-usage',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}

/** Collects the page's uncaught errors and console errors, to show when a test fails. */
export function watchPage(page: Page): string[] {
	const log: string[] = [];
	page.on('pageerror', (error) => log.push(`pageerror: ${error.message}`));
	page.on('console', (message) => {
		if (message.type() === 'error' || message.type() === 'warning') log.push(`console.${message.type()}: ${message.text()}`);
	});
	return log;
}

/**
 * The lifecycle every browser test file shares: Chromium launched once for the file, a fresh
 * context and page (its errors watched) for each test, the page's log printed when a test fails,
 * the context closed after each test. Call it first in the `describeChromium` body, before the
 * file's own hooks, so that its `beforeEach` finds the page. Read the properties inside hooks and
 * tests, not at collection time: they are getters over what the hooks set.
 */
export function usePage(): { readonly browser: Browser; readonly context: BrowserContext; readonly page: Page } {
	let browser: Browser | undefined;
	let context: BrowserContext | undefined;
	let page: Page | undefined;
	let log: string[] = [];

	beforeAll(async () => {
		browser = await launchChromium();
	});
	afterAll(async () => {
		await browser?.close();
	});
	beforeEach(async () => {
		context = await set(browser, 'browser').newContext();
		page = await context.newPage();
		log = watchPage(page);
	});
	afterEach(async (test) => {
		if (test.task.result?.state === 'fail' && log.length > 0) console.error(log.join('\n'));
		await set(context, 'context').close();
	});

	return {
		get browser() {
			return set(browser, 'browser');
		},
		get context() {
			return set(context, 'context');
		},
		get page() {
			return set(page, 'page');
		},
	};
}

function set<T>(value: T | undefined, name: string): T {
	if (value === undefined) throw new Error(`usePage(): no ${name} yet (read it in a hook or a test)`);
	return value;
}

/** Polls `check` until it returns true (state of the origin, never a duration under test). */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
