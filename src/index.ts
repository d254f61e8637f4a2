export { ParallelGetStream, type ReadableStreamConstructor } from './core/parallel-get-stream.ts';
export { parallelGet } from './core/parallel-get.ts';
export type { ConcurrencyBounds, ParallelGetOptions, Progress, RetryOptions } from './core/options.ts';
export type { DownloadInfo } from './core/discovery.ts';
export type { Checkpoint } from './core/checkpoint.ts';
export { hashCheckpoint, type Prefix } from './integrity/hash-checkpoint.ts';
export type { ConcurrencyChange, DownloadStats } from './core/stats.ts';
export {
	ParallelGetError,
	isParallelGetError,
	type ByteRange,
	type ParallelGetErrorCode,
} from './errors/parallel-get-error.ts';
export { RevisionChangedError, isRevisionChangedError } from './errors/revision-changed-error.ts';
export { UnexpectedResponseError, isUnexpectedResponseError } from './errors/unexpected-response-error.ts';
export { RetriesExhaustedError, isRetriesExhaustedError } from './errors/retries-exhausted-error.ts';
export { StallError } from './errors/stall-error.ts';
export { IntegrityError, isIntegrityError } from './errors/integrity-error.ts';
