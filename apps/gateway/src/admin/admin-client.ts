/**
 * The CLI's client of the admin API (`gateway devices list|show|kick`), over Node's built-in fetch
 * (undici). It tells "no gateway answers" (connection refused, no route, timeout: the CLI may then
 * read the store file) apart from an answer, which is returned whatever its status.
 */
import type { Problem } from './problem';

/** No HTTP answer at all from `url`: nothing listens there, or it did not answer in time. */
export class AdminUnreachableError extends Error {
  override readonly name = 'AdminUnreachableError';
  constructor(
    readonly url: string,
    why: string,
    options?: { cause?: unknown },
  ) {
    super(`no gateway answers at ${url} (${why})`, options);
  }
}

/** One answer: status and the parsed JSON body (undefined when the body is not JSON). */
export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The `Problem` in an answer, when it is one (RFC 9457). */
export function problemOf(answer: AdminAnswer): Problem | undefined {
  const b = answer.body as Partial<Problem> | undefined;
  return b !== undefined && typeof b === 'object' && b !== null && typeof b.title === 'string' && typeof b.status === 'number' ? (b as Problem) : undefined;
}

export class AdminClient {
  /**
   * @param baseUrl `http://host:port` of the admin API.
   * @param token the bearer token, if the gateway needs one.
   */
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  /**
   * Sends one request and waits at most `timeoutMs` for the whole answer.
   * @throws AdminUnreachableError when no HTTP answer comes (refused, unreachable, timed out).
   * @throws TypeError when `baseUrl` is not a URL.
   */
  async request(method: 'GET' | 'DELETE' | 'POST', path: string, timeoutMs = 10_000): Promise<AdminAnswer> {
    const url = new URL(path, this.baseUrl).toString();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: { accept: 'application/json', ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new AdminUnreachableError(this.baseUrl, why, { cause: err });
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  }
}
