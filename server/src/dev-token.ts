import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { TokenAuthority } from './auth';
import { HttpError, readJson, sendJson } from './http-util';

const devTokenBody = z.object({
  app: z.string().min(1, 'must be a non-empty string'),
  user: z.string().min(1, 'must be a non-empty string'),
  device: z.string().min(1, 'must be a non-empty string').optional(),
  /** Token lifetime in seconds. */
  ttl: z.number().int().min(1).max(7 * 24 * 3600).optional(),
});

/**
 * `POST /dev/token` (dev mode only): mints an HS256 token for `{ app, user, device?, ttl? }`
 * (`ttl` in seconds, default 3600) so a demo page can connect without a back end.
 */
export function createDevTokenHandler(
  auth: TokenAuthority,
  apps: Set<string> | undefined,
  maxBodyBytes: number,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const parsed = devTokenBody.safeParse(await readJson(req, maxBodyBytes));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join('.') || '(body)';
      throw new HttpError(400, 'bad_request', `${field}: ${issue.message}`, { field });
    }
    const { app, user, device, ttl = 3600 } = parsed.data;
    if (apps && !apps.has(app)) throw new HttpError(403, 'forbidden', `app "${app}" is not allowed`);
    const token = await auth.sign({ sub: user, app, ...(device ? { device } : {}) }, ttl);
    sendJson(res, 200, { token });
  };
}
