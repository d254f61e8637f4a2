/**
 * A fault schedule (schedules.ts) turned into the test origin's fault rule for one path: which
 * request gets which fault, the object's revisions as the schedule replaces it, and the bytes of
 * every revision served, to compare a download's output with. Shared by the Node and the
 * Chromium property tests, so that both put the same faults on the same requests.
 */
import { objectSlice } from './object.ts';
import type { Fault, FaultRequest, Origin } from './origin.ts';
import { type FaultKind, resolveAt, type Schedule } from './schedules.ts';

const KiB = 1024;

/** A request header that keeps a request out of the schedule: not struck, not counted. */
export const UNSCHEDULED = 'x-unscheduled';

/** The origin's fault for one request, from what the schedule drew for it. */
export function toFault(kind: FaultKind, request: FaultRequest, size: number): Fault | undefined {
	const range = request.range;
	const length = range?.length ?? size;
	switch (kind.kind) {
		case 'reset':
			return { resetAfterBytes: resolveAt(kind.at, length) };
		case 'short':
			// A 206 says where its body ends in Content-Range. A 200 that ends cleanly with no
			// Content-Length is indistinguishable from a smaller object: keep the length it promised.
			return { shortAfterBytes: resolveAt(kind.at, length), ...(range ? {} : { contentLength: length }) };
		case 'long':
			// Likewise, a longer 200 without Content-Length is a larger object.
			return { extraBytes: kind.bytes, ...(range ? {} : { contentLength: length }) };
		case 'drop':
			return { dropConnection: true };
		case 'stall':
			return { stallAfterBytes: resolveAt(kind.at, length), ...(kind.ms === null ? {} : { stallMs: kind.ms }) };
		case 'delay':
			return { delayMs: kind.ms };
		case 'status':
			return { status: kind.status, ...(kind.retryAfter === null ? {} : { retryAfter: kind.retryAfter }) };
		case 'ignoreRange':
			return { ignoreRange: true };
		case 'otherRange': {
			if (!range) return undefined;
			const start = range.start + kind.shift >= 0 ? range.start + kind.shift : range.start - kind.shift;
			return { contentRange: `bytes ${start}-${start + range.length - 1}/${size}` };
		}
		case 'wrongTotal': {
			if (!range) return undefined;
			const total = size + kind.delta > 0 ? size + kind.delta : size + 1;
			return { contentRange: `bytes ${range.start}-${range.end}/${total}` };
		}
		case 'noValidator':
			return { etag: null, ...(kind.lastModified ? {} : { lastModified: null }) };
		case 'trickle':
			return { bytesPerSecond: Math.max(KiB, Math.ceil((length * 1000) / kind.ms)) };
	}
}

export interface InstalledSchedule {
	/** Every revision's bytes the download may rightly have produced, first the original. */
	readonly revisions: Uint8Array[];
	/** Each revision with the byte the schedule corrupts flipped: a consumer may read a prefix of these, never all. */
	readonly corrupted: Uint8Array[];
	/** Where the corrupted byte is (undefined: none). */
	readonly corruptByteAt: number | undefined;
	/** Whether the schedule's revision change has happened. */
	readonly changed: boolean;
	/** Clears the rule and removes the object. */
	remove(): void;
	/** Starts striking (and counting) requests, after a run installed `paused`. */
	start(): void;
}

/**
 * Puts the schedule's object at `path` on `origin` and installs its fault rule: each request is
 * answered from the object as it is then, struck by the first scheduled fault that names it (by
 * chunk and how many times that chunk was asked for, or by its number), and the object replaced
 * once the schedule's revision change is due.
 */
export function installSchedule(origin: Origin, path: string, s: Schedule, { paused = false } = {}): InstalledSchedule {
	const revisions: Uint8Array[] = [];
	const corrupted: Uint8Array[] = [];
	const draw = s.integrity;
	const corruptByteAt = draw?.corruptAt == null || s.size === 0 ? undefined : Math.floor(draw.corruptAt * s.size);
	const put = (size: number, contentSeed: number): void => {
		const digests = draw && draw.by !== 'option' ? [draw.by] : [];
		origin.put(path, { size, seed: contentSeed, digests });
		const bytes = objectSlice(size, contentSeed, 0, size);
		revisions.push(bytes);
		if (corruptByteAt !== undefined && corruptByteAt < size) {
			const copy = bytes.slice();
			copy[corruptByteAt] = (copy[corruptByteAt] as number) ^ 0xff;
			corrupted.push(copy);
		}
	};
	put(s.size, s.seed);
	const { chunkSize } = s;
	const chunks = Math.max(1, Math.ceil(s.size / chunkSize));
	const perChunk = new Map<number, number>();
	let count = 0;
	let changed = false;
	let servedSize = s.size;
	let striking = !paused;
	origin.fault(path, (request) => {
		// Paused, or a request marked as not the scheduled run's: a run before the scheduled one
		// (the first run of a resume, whose last request may arrive late) meets no fault. The
		// corrupted byte is the object's as served, to every run: a resume may have read it before.
		if (!striking || request.headers[UNSCHEDULED] !== undefined) return corruptByteAt === undefined ? undefined : { corruptByteAt };
		count++;
		// This request is answered from the object as it is now; a replacement serves the next one on.
		const size = servedSize;
		const bytes = revisions.at(-1) as Uint8Array;
		const change = s.revision;
		if (change && !changed && count >= change.afterRequest) {
			changed = true;
			servedSize = Math.max(0, s.size + change.sizeDelta);
			put(servedSize, change.sameBytes ? s.seed : s.seed + 7919);
		}
		const index = request.range ? Math.floor(request.range.start / chunkSize) : 0;
		const nth = (perChunk.get(index) ?? 0) + 1;
		perChunk.set(index, nth);
		const hit = s.faults.find(({ when }) =>
			'request' in when ? when.request === count : when.chunk % chunks === index && nth >= when.nth && nth < when.nth + when.times,
		);
		const corrupt = corruptByteAt === undefined ? undefined : { corruptByteAt };
		if (!hit) return corrupt;
		const struck = toFault(hit.fault, request, size);
		const fault: Fault | undefined = corrupt && struck ? { ...struck, ...corrupt } : (struck ?? corrupt);
		// A discovery response (unpinned, from byte 0) whose smaller total its own body does not
		// contradict describes a smaller object, as far as anyone can tell: its prefix is a
		// revision too. A pinned request's total is checked against discovery's.
		const claimed = /\/(\d+)$/.exec(fault?.contentRange ?? '');
		const pinned = request.headers['if-match'] !== undefined || request.headers['if-unmodified-since'] !== undefined;
		if (hit.fault.kind === 'wrongTotal' && claimed && request.range?.start === 0 && !pinned && Number(claimed[1]) < size) {
			revisions.push(bytes.subarray(0, Number(claimed[1])));
		}
		return fault;
	});
	return {
		revisions,
		corrupted,
		corruptByteAt,
		get changed() {
			return changed;
		},
		remove() {
			origin.fault(path, undefined);
			origin.remove(path);
		},
		start() {
			striking = true;
		},
	};
}
