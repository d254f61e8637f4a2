/**
 * When a download asks the server for a digest (`Want-Repr-Digest`, RFC 9530 §4): only where that
 * costs no CORS preflight, and never over the caller's own header (integrity.test.ts covers
 * `integrity` and `verify: false`).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ParallelGetStream } from '../src/index.ts';

afterEach(() => {
	vi.unstubAllGlobals();
});

/** The Want-Repr-Digest of each request a download of `url` sends (one: a small 200). */
async function asked(url: string, headers?: Record<string, string>): Promise<(string | null)[]> {
	const seen: (string | null)[] = [];
	const fetch: typeof globalThis.fetch = async (input, init) => {
		seen.push(new Request(input, init).headers.get('want-repr-digest'));
		return new Response(new Uint8Array(3), { status: 200, headers: { 'content-length': '3' } });
	};
	await new Response(new ParallelGetStream(url, { fetch, ...(headers ? { headers } : {}) }).readable).arrayBuffer();
	return seen;
}

describe('Want-Repr-Digest', () => {
	it('the caller’s own is sent as given', async () => {
		expect(await asked('http://127.0.0.1:9/a.bin', { 'Want-Repr-Digest': 'sha-256=9' })).toEqual(['sha-256=9']);
	});

	it('on a page: asked of its own origin, not of another (the header is not CORS-safelisted: a preflight)', async () => {
		vi.stubGlobal('location', { href: 'http://127.0.0.1:9/page.html', origin: 'http://127.0.0.1:9' });
		expect(await asked('http://127.0.0.1:9/a.bin')).toEqual(['sha-512=3, sha-256=5']);
		expect(await asked('http://127.0.0.2:9/a.bin')).toEqual([null]);
	});
});
