/** A job with an input schema: submissions that do not match are refused with 422 before they are queued. */
import { defineJob } from '@celerity/core';
import { z } from 'zod';

export const generate = defineJob({
  description: 'Builds the monthly report of a month (YYYY-MM)',
  input: z.object({ month: z.string().regex(/^\d{4}-\d{2}$/, 'expected YYYY-MM') }),
  result: z.object({ month: z.string(), rows: z.number().int() }),
  timeLimit: 120,
  async run(input, ctx) {
    ctx.progress(50, `building report for ${input.month}`);
    return { month: input.month, rows: 42 };
  },
});
