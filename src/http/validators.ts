/**
 * What pins the revision for the parallel requests that follow discovery. RFC 9110 §13.1.1:
 * If-Match uses strong comparison, so a weak ETag would make every pinned request fail with 412;
 * only a strong ETag goes into If-Match. Without one, Last-Modified goes into
 * If-Unmodified-Since (§13.1.4), but only when it is itself strong (§8.8.2.2: the response's Date
 * at least one second later), since a second rewrite within the same second would go unseen.
 */
export type Pin =
	| { kind: 'etag'; etag: string; lastModified: string | undefined }
	| { kind: 'last-modified'; lastModified: string; etag: string | undefined }
	| { kind: 'none'; etag: string | undefined; lastModified: string | undefined };

export function isStrongEtag(etag: string | null | undefined): etag is string {
	return typeof etag === 'string' && /^"[^"]*"$/.test(etag.trim());
}

/** Last-Modified counts as strong when Date shows it is at least one second old (§8.8.2.2). */
export function isStrongLastModified(lastModified: string | null, date: string | null): boolean {
	if (lastModified === null) return false;
	const modified = Date.parse(lastModified);
	if (Number.isNaN(modified)) return false;
	if (date === null) return true; // No Date to prove otherwise; RFC 9110 lets the origin omit it only without a clock.
	const served = Date.parse(date);
	return Number.isNaN(served) || served - modified >= 1000;
}

// `Headers.get` hands out values with the whitespace around them already stripped (Fetch's
// "normalize"): no trimming here.
export function pinFromHeaders(headers: Headers): Pin {
	const etag = headers.get('etag') ?? undefined;
	const lastModified = headers.get('last-modified') ?? undefined;
	if (isStrongEtag(etag)) return { kind: 'etag', etag, lastModified };
	if (lastModified !== undefined && isStrongLastModified(lastModified, headers.get('date'))) {
		return { kind: 'last-modified', lastModified, etag };
	}
	return { kind: 'none', etag, lastModified };
}

/** Request headers that make the server refuse (412) a revision other than the pinned one. */
export function pinHeaders(pin: Pin): Record<string, string> {
	if (pin.kind === 'etag') return { 'if-match': pin.etag };
	if (pin.kind === 'last-modified') return { 'if-unmodified-since': pin.lastModified };
	return {};
}

/**
 * Compares a response's validators with the pin. Returns a description of the difference, or
 * undefined when they agree. Only the validator that pins is compared: replicas may disagree on
 * the other one for the same bytes (a Last-Modified beside an equal strong ETag), and stores that
 * hand out per-part ETags taught that guessing breaks good downloads (sapcc/maria-back-me-up#143).
 * A header the response does not carry (or that CORS hides) is not a difference: the server-side
 * precondition already guards it.
 */
export function pinMismatch(pin: Pin, headers: Headers): { what: string; expected: string; received: string } | undefined {
	const etag = headers.get('etag');
	const lastModified = headers.get('last-modified') ?? undefined;
	if (pin.kind !== 'last-modified' && etag && pin.etag !== undefined && etag !== pin.etag) {
		return { what: 'ETag', expected: pin.etag, received: etag };
	}
	// With no pin, the date only when there was no ETag (an ETag pin always has its ETag).
	const checkModified = pin.kind === 'last-modified' || pin.etag === undefined;
	if (checkModified && lastModified && pin.lastModified !== undefined && lastModified !== pin.lastModified) {
		return { what: 'Last-Modified', expected: pin.lastModified, received: lastModified };
	}
	return undefined;
}

/**
 * Whether a response carries the validator that pins, to compare: a request sent before the pin
 * was known (the first round, sent with discovery) had no precondition to guard it, so a missing
 * header cannot be taken for agreement there.
 */
export function carriesPin(pin: Pin, headers: Headers): boolean {
	if (pin.kind === 'etag') return headers.get('etag') !== null;
	if (pin.kind === 'last-modified') return headers.get('last-modified') !== null;
	return true;
}
