import { describe, expect, it } from 'vitest';
import { isNearEnd } from '../../src/core/policies/overlap.ts';

describe('isNearEnd (overlap)', () => {
	it('lets the slot go once what is left takes no longer than a time to first byte at the pace so far', () => {
		// 100 bytes in 50 ms: 2 bytes per ms; with a 20 ms time to first byte, 40 bytes left is near the end.
		expect(isNearEnd(40, 50, 100, 20)).toBe(true);
		expect(isNearEnd(41, 50, 100, 20)).toBe(false);
	});

	it('does not judge the pace from pieces that arrived together: the body must have been read for a time to first byte', () => {
		expect(isNearEnd(1, 19, 1_000_000, 20)).toBe(false);
		expect(isNearEnd(1, 20, 1_000_000, 20)).toBe(true);
	});

	it('never without a measured time to first byte, or with nothing left', () => {
		expect(isNearEnd(40, 50, 100, undefined)).toBe(false);
		expect(isNearEnd(0, 50, 100, 20)).toBe(false);
	});
});
