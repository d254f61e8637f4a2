/**
 * `parallelGet()`: the Response a service worker answers with. Its headers say only what the
 * origin said (nothing made up for a header the origin did not send), and an empty object has no
 * body, as a Response to an empty 200 has none.
 */
import { describe, expect, it } from 'vitest';
import { parallelGet } from '../src/index.ts';
import { useOrigin } from './support/use-origin.ts';

const origin = useOrigin();

describe('parallelGet - the Response', () => {
	it('carries the origin’s Last-Modified and ETag', async () => {
		const object = origin.put('/pg-validators.bin', { size: 1000, seed: 31 });
		const response = await parallelGet(object.url);
		expect(object.lastModified).toBeTruthy();
		expect([response.headers.get('etag'), response.headers.get('last-modified')]).toEqual([object.etag, object.lastModified]);
		expect((await response.arrayBuffer()).byteLength).toBe(1000);
	});

	it('has no Content-Length, Content-Type, ETag or Last-Modified when the origin sent none (an unknown length read whole)', async () => {
		// Bytes, not a string: a Response made from a string gets a Content-Type of its own.
		const fetch: typeof globalThis.fetch = async () => new Response(new Uint8Array(5).fill(1), { status: 200 });
		const response = await parallelGet('http://127.0.0.1:9/bare.bin', { fetch });
		expect([...response.headers]).toEqual([]);
		expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array(5).fill(1));
	});

	it('for an empty object: Content-Length 0 and no body', async () => {
		const object = origin.put('/pg-empty.bin', { size: 0, seed: 32 });
		const response = await parallelGet(object.url);
		expect(response.headers.get('content-length')).toBe('0');
		expect(response.body).toBeNull();
	});
});
