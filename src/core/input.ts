import type { RequestSettings } from '../http/request.ts';
import { normalizeHeaders } from './options.ts';

export interface NormalizedInput {
	url: string;
	headers: Headers | undefined;
	signal: AbortSignal | undefined;
	settings: RequestSettings;
}

function isRequest(value: unknown): value is Request {
	return typeof Request !== 'undefined' && value instanceof Request;
}

function resolveUrl(text: string): URL {
	const base = (globalThis as { location?: { href?: string } }).location?.href;
	try {
		return new URL(text, base);
	} catch (error) {
		throw new TypeError(`Expected \`input\` to be an absolute http(s) URL${base ? ' or one relative to the page' : ''}, got \`${text}\``, { cause: error });
	}
}

/** Accepts `string | URL | Request` (GET only); a Request's headers, signal and fetch settings are kept. */
export function normalizeInput(input: unknown): NormalizedInput {
	let url: URL;
	let headers: Headers | undefined;
	let signal: AbortSignal | undefined;
	const settings: RequestSettings = {};
	if (isRequest(input)) {
		if (input.method !== 'GET') {
			throw new TypeError(`Expected \`input\` to be a GET request, got a ${input.method} request`);
		}
		url = resolveUrl(input.url);
		headers = normalizeHeaders('input.headers', input.headers);
		signal = input.signal ?? undefined;
		settings.credentials = input.credentials;
		settings.cache = input.cache;
		settings.redirect = input.redirect;
		settings.referrerPolicy = input.referrerPolicy;
		// `navigate` cannot be used to construct a request (Fetch §5.4 step 23); it is what a
		// service worker sees for a page load, which it re-fetches as same-origin.
		if (input.mode !== 'navigate') settings.mode = input.mode;
		// `about:client` is the default; the empty string is "no referrer", to be kept like any other.
		if (input.referrer !== 'about:client') settings.referrer = input.referrer;
	} else if (typeof input === 'string' || input instanceof URL) {
		url = resolveUrl(String(input));
	} else {
		const got = input === null ? 'null' : typeof input;
		throw new TypeError(`Expected \`input\` to be a string, a URL or a Request, got ${got}`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new TypeError(`Expected \`input\` to be an http: or https: URL, got \`${url.protocol}\``);
	}
	return { url: url.href, headers, signal, settings };
}
