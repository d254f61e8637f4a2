import ky, { type KyInstance } from 'ky';

/** Fetch settings taken from a `Request` input and applied to every range request. */
export interface RequestSettings {
	credentials?: RequestCredentials;
	mode?: RequestMode;
	cache?: RequestCache;
	redirect?: RequestRedirect;
	referrer?: string;
	referrerPolicy?: ReferrerPolicy;
}

/** Makes one GET and resolves with its response, whatever its status. */
export type Send = (url: string, headers: Headers, signal: AbortSignal) => Promise<Response>;

// Retries and timeouts are this library's own (per chunk, with resume), so the default instance
// does neither, and hands back error statuses as responses rather than reading their bodies.
const plainKy = ky.create({ retry: 0, timeout: false, throwHttpErrors: false });

function httpErrorResponse(error: unknown): Response | undefined {
	// ky's HTTPError, compared by name too so that another copy of ky is recognised.
	const candidate = error as { name?: unknown; response?: unknown } | null;
	if (candidate && candidate.name === 'HTTPError' && typeof Response !== 'undefined' && candidate.response instanceof Response) {
		return candidate.response;
	}
	return undefined;
}

export function createSend(instance: KyInstance | undefined, fetch: typeof globalThis.fetch | undefined, settings: RequestSettings): Send {
	const client = instance ?? plainKy;
	return async (url, headers, signal) => {
		try {
			return await client(url, { ...settings, method: 'get', headers, signal, ...(fetch ? { fetch } : {}) });
		} catch (error) {
			// A user's ky instance may throw on error statuses (after its own retries): the status
			// still decides what happens next (412 = revision changed, 416 = empty, ...).
			const response = httpErrorResponse(error);
			if (response) return response;
			throw error;
		}
	};
}
