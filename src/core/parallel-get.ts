import type { ParallelGetOptions } from './options.ts';
import { ParallelGetStream } from './parallel-get-stream.ts';

/**
 * Starts a parallel download and resolves with a `Response` (status 200) whose body is the
 * in-order stream: what a service worker's `respondWith()` needs. Headers: `Content-Length` when
 * the size is known, and the origin's `Content-Type`, `ETag` and `Last-Modified`. Rejects when
 * the first response fails its checks.
 *
 * @example
 * ```ts
 * self.addEventListener('fetch', (event) => {
 *   if (event.request.url.endsWith('.iso')) event.respondWith(parallelGet(event.request));
 * });
 * ```
 */
export async function parallelGet(input: string | URL | Request, options?: ParallelGetOptions): Promise<Response> {
	return responseFor(new ParallelGetStream(input, options));
}

export async function responseFor(download: ParallelGetStream): Promise<Response> {
	const info = await download.info;
	const headers = new Headers();
	// A resumed download's body is the rest of the object.
	if (info.size !== undefined) headers.set('content-length', String(info.size - (info.resumedFrom ?? 0)));
	if (info.contentType) headers.set('content-type', info.contentType);
	if (info.etag) headers.set('etag', info.etag);
	if (info.lastModified) headers.set('last-modified', info.lastModified);
	return new Response(info.mode === 'empty' ? null : download.readable, { status: 200, headers });
}
