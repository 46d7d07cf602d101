/** The API layer's errors: the statuses the core never decides (auth, media type, routing). */
import { CoreError } from '../../core/errors.js';

export class HttpError extends CoreError {
  override name = 'HttpError';
  constructor(
    status: number,
    message: string,
    /** Extra response headers (WWW-Authenticate, Allow). */
    public readonly headers: Record<string, string> = {},
  ) {
    super(message, status);
  }
}
