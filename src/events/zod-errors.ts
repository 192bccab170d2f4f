/** Clearer zod messages for the API's rejections, configured once for the process. */
import { z } from 'zod';

z.config({
  customError(issue) {
    if (issue.input === undefined) return 'is required';
    if (issue.code === 'invalid_union' && issue.path?.[0] === 'timestamp') {
      return 'must be RFC 3339 with an offset (e.g. 2026-05-01T12:00:00Z) or epoch milliseconds';
    }
    return undefined;
  },
});
