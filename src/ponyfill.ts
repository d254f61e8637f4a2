/**
 * The same API built on web-streams-polyfill's `ReadableStream`, for runtimes that lack a global
 * one. Globals are left alone (patching them would break `instanceof` for native bodies).
 */
import { ReadableStream as PonyfillReadableStream } from 'web-streams-polyfill';
import { ParallelGetStream as NativeParallelGetStream } from './core/parallel-get-stream.ts';
import type { ParallelGetOptions } from './core/options.ts';

export class ParallelGetStream extends NativeParallelGetStream {
	static override ReadableStream = PonyfillReadableStream as unknown as typeof globalThis.ReadableStream;
}

export type { ParallelGetOptions };
export {
	ParallelGetError,
	isParallelGetError,
	RevisionChangedError,
	isRevisionChangedError,
	UnexpectedResponseError,
	isUnexpectedResponseError,
	RetriesExhaustedError,
	isRetriesExhaustedError,
	StallError,
	IntegrityError,
	isIntegrityError,
	type Checkpoint,
	type DownloadInfo,
	type DownloadStats,
	type Progress,
	type RetryOptions,
	type ByteRange,
	type ParallelGetErrorCode,
} from './index.ts';
