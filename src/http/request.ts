/** Fetch settings taken from a `Request` input and applied to every range request. */
export interface RequestSettings {
	credentials?: RequestCredentials;
	mode?: RequestMode;
	cache?: RequestCache;
	redirect?: RequestRedirect;
	referrer?: string;
	referrerPolicy?: ReferrerPolicy;
}

/**
 * A ky instance (`ky.create(...)`, `ky.extend(...)`), as the `ky` option takes it: called with the
 * URL and ky's options for one GET, it resolves with the response. Declared here rather than taken
 * from ky's types, so that the package needs ky only where a caller hands one in.
 */
export type KyInstanceLike = (
	url: string,
	options: RequestSettings & { method: 'get'; headers: Headers; signal: AbortSignal; fetch?: typeof globalThis.fetch },
) => PromiseLike<Response>;

/** Makes one GET and resolves with its response, whatever its status. */
export type Send = (url: string, headers: Headers, signal: AbortSignal) => Promise<Response>;

function httpErrorResponse(error: unknown): Response | undefined {
	// ky's HTTPError, compared by name too so that another copy of ky is recognised.
	const candidate = error as { name?: unknown; response?: unknown } | null;
	if (candidate && candidate.name === 'HTTPError' && typeof Response !== 'undefined' && candidate.response instanceof Response) {
		return candidate.response;
	}
	return undefined;
}

export function createSend(instance: KyInstanceLike | undefined, fetch: typeof globalThis.fetch | undefined, settings: RequestSettings): Send {
	// Retries and timeouts are this library's own (per chunk, with resume): without a ky instance
	// of the caller's, a request is one plain `fetch()` (the global one looked up at each call, as
	// a mock or polyfill may replace it).
	if (!instance) return (url, headers, signal) => (fetch ?? globalThis.fetch)(url, { ...settings, method: 'GET', headers, signal });
	return async (url, headers, signal) => {
		try {
			return await instance(url, { ...settings, method: 'get', headers, signal, ...(fetch ? { fetch } : {}) });
		} catch (error) {
			// A user's ky instance may throw on error statuses (after its own retries): the status
			// still decides what happens next (412 = revision changed, 416 = empty, ...).
			const response = httpErrorResponse(error);
			if (response) return response;
			throw error;
		}
	};
}
