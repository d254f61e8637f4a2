/**
 * The `faulty` scenario's schedule: which object GETs the origin answers with a 503 and which it
 * resets mid-body, drawn from a seed so that every tool, in every run, meets the same schedule
 * (the nth GET of one tool's run fares as the nth GET of another's).
 */
import { fmix32 } from '../test/support/object.ts';
import type { Fault, FaultRequest } from '../test/support/origin.ts';

export interface FaultPlan {
	seed: number;
	/** Fraction (0..1) of the object responses that are reset mid-body. */
	resetFraction: number;
	/** Object GETs (counted from 1 in each run) answered `503 Service Unavailable`, no `Retry-After`. */
	unavailable: number[];
}

function draw(seed: number, n: number, salt: number): number {
	return fmix32(Math.imul((seed >>> 0) ^ salt, 0x85ebca6b) ^ Math.imul((n >>> 0) + 0x27d4eb2f, 0xc2b2ae35)) / 0x1_0000_0000;
}

/**
 * What the origin does to the nth object GET (from 1) whose body is `length` bytes: a 503, a
 * reset after 10 % to 90 % of the body, or nothing.
 */
export function faultFor(plan: FaultPlan, n: number, length: number): Fault | undefined {
	if (plan.unavailable.includes(n)) return { status: 503 };
	if (length > 1 && draw(plan.seed, n, 0x9e3779b9) < plan.resetFraction) {
		const at = Math.floor(length * (0.1 + 0.8 * draw(plan.seed, n, 0x7f4a7c15)));
		return { resetAfterBytes: Math.min(length - 1, Math.max(1, at)) };
	}
	return undefined;
}

/**
 * The origin's fault rule for one object of `size` bytes: counts its object GETs (HEAD and the
 * requests marked `probeHeader` do not count and are never faulted) and applies `faultFor`.
 * A new rule starts a new count.
 */
export function faultRule(plan: FaultPlan, size: number, probeHeader: string): (request: FaultRequest) => Fault | undefined {
	let gets = 0;
	return (request) => {
		if (request.method !== 'GET' || request.headers[probeHeader] !== undefined) return undefined;
		gets++;
		return faultFor(plan, gets, request.range?.length ?? size);
	};
}
