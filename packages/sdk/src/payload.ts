/** The terminal statuses a task callback reports. */
export type WebhookTaskStatus = 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'expired';

/** The JSON body Celerity POSTs to a task's callback_url when the task finishes. */
export interface WebhookPayload {
  /** the task id */
  id: string;
  /** the task (job) name */
  task: string;
  status: WebhookTaskStatus;
  /** the job's return value, when it succeeded */
  result?: unknown;
  error?: { type: string; message: string } | null;
  attempts: number;
  /** ISO 8601 */
  finished_at: string;
  trace_id: string;
  metadata: Record<string, unknown> | null;
}
