export { CelerityClient, createClient, type ClientOptions, type EventsOptions } from './client.js';
export { ApiError, CelerityError, ConnectionError, WaitTimeoutError, type Problem } from './errors.js';
export type {
  AnyTasks,
  CancelResult,
  DeadLetter,
  FinishedStatus,
  Job,
  Queue,
  QueuePurgeResult,
  Worker,
  WorkerControlResult,
  StatsHistory,
  ListDeadLettersQuery,
  ListTasksQuery,
  Schedule,
  SchedulePatch,
  ScheduleSpec,
  SubmitOptions,
  TaskEvent,
  TaskMap,
  TaskRecord,
  TaskStatus,
  TaskSummary,
} from './types.js';
export { isFinished } from './types.js';
export type { components, paths } from './openapi-types.js';
