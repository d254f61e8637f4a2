import type { Outcome } from '../../support/invariants.ts';
import type { Consumer } from '../../support/schedules.ts';

export function readDrawn(options: {
	reader: ReadableStreamDefaultReader<Uint8Array>;
	other: ReadableStream<Uint8Array> | undefined;
	consumer: Consumer;
	size: number;
	cancelReason: unknown;
	onPiece: (piece: Uint8Array) => void;
}): Promise<Outcome>;
