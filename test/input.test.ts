/**
 * `input` as `normalizeInput` reads it: a string, a URL or a GET Request; on a page (or in a
 * worker) a string is resolved against the page's address, as fetch does.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { normalizeInput } from '../src/core/input.ts';

afterEach(() => {
	vi.unstubAllGlobals();
});

describe('normalizeInput', () => {
	it('on a page, resolves a relative URL against the page, and says so when the text is no URL at all', () => {
		vi.stubGlobal('location', { href: 'http://127.0.0.1:8999/app/page.html' });
		expect(normalizeInput('files/big.iso').url).toBe('http://127.0.0.1:8999/app/files/big.iso');
		expect(() => normalizeInput('http://[bad')).toThrow('Expected `input` to be an absolute http(s) URL or one relative to the page, got `http://[bad`');
	});

	it('without a page, asks for an absolute URL only, with the URL parser\'s error as the cause', () => {
		expect(() => normalizeInput('files/big.iso')).toThrow('Expected `input` to be an absolute http(s) URL, got `files/big.iso`');
		let thrown: unknown;
		try {
			normalizeInput('files/big.iso');
		} catch (error) {
			thrown = error;
		}
		expect((thrown as Error).cause).toBeInstanceOf(TypeError);
		expect(String((thrown as Error).cause)).toMatch(/Invalid URL/);
	});

	it('takes http: and https: URLs, and no other scheme', () => {
		expect(normalizeInput('https://127.0.0.1:8443/x').url).toBe('https://127.0.0.1:8443/x');
		expect(normalizeInput(new URL('http://127.0.0.1/y')).url).toBe('http://127.0.0.1/y');
		expect(() => normalizeInput('file:///etc/passwd')).toThrow('Expected `input` to be an http: or https: URL, got `file:`');
	});

	it.each([
		[null, 'null'],
		[undefined, 'undefined'],
		[{ href: 'http://127.0.0.1/x' }, 'object'],
	])('names what it got instead of a string, a URL or a Request: %o', (input, got) => {
		expect(() => normalizeInput(input)).toThrow(`Expected \`input\` to be a string, a URL or a Request, got ${got}`);
	});
});

describe('normalizeInput - a Request', () => {
	const url = 'http://127.0.0.1:8999/x';

	it('keeps its fetch settings, and adds no referrer of its own to one that has the default', () => {
		expect(normalizeInput(new Request(url)).settings).toStrictEqual({ credentials: 'same-origin', cache: 'default', redirect: 'follow', referrerPolicy: '', mode: 'cors' });
	});

	it('keeps its signal, which the download listens to', () => {
		const controller = new AbortController();
		const request = new Request(url, { signal: controller.signal });
		const { signal } = normalizeInput(request);
		expect(signal).toBe(request.signal);
		controller.abort();
		expect(signal?.aborted).toBe(true);
	});

	it('keeps a referrer of "no referrer" (the empty string): the requests must not send one either', () => {
		expect(normalizeInput(new Request(url, { referrer: '' })).settings.referrer).toBe('');
		expect(normalizeInput(new Request(url, { referrer: 'http://127.0.0.1:8999/page' })).settings.referrer).toBe('http://127.0.0.1:8999/page');
	});

	it('drops the mode of a page load (`navigate`, what a service worker sees), which no Request can be made with', () => {
		class Navigation extends Request {
			override get mode(): RequestMode {
				return 'navigate';
			}
		}
		expect(() => new Request(url, { mode: 'navigate' })).toThrow(TypeError);
		expect(normalizeInput(new Navigation(url)).settings).not.toHaveProperty('mode');
	});
});
