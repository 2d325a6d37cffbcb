/**
 * Problem details (RFC 9457) of the admin API: every 4xx and 5xx answer is one, as
 * `application/problem+json`. `type` names the problem kind with a `tag:` URI (RFC 4151), which
 * needs no registration and is never dereferenced; `about:blank` is used where the HTTP status says
 * all (an unknown route, a wrong method), as RFC 9457 §4.2.1 suggests.
 */

/** Media type of every error answer. @see RFC 9457 §3 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The problem kinds the admin API answers with, and the HTTP status of each. */
export const PROBLEM_TYPES = {
  'invalid-request': { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'A valid bearer token is required' },
  'unknown-registration-id': { status: 404, title: 'No registration has this Registration ID' },
  'procedure-pending': { status: 409, title: 'A procedure for this registration is pending' },
  'server-rejected': { status: 502, title: 'The MSGin5G Server refused the de-registration' },
  'server-unreachable': { status: 503, title: 'The MSGin5G Server did not answer' },
  'gateway-unavailable': { status: 503, title: 'The gateway cannot do this now' },
  'store-unavailable': { status: 503, title: 'The registration store cannot be read or written' },
  'not-ready': { status: 503, title: 'The gateway is not ready' },
  'internal-error': { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemName = keyof typeof PROBLEM_TYPES;

/** The `type` URI of a problem kind. */
export const problemType = (name: ProblemName): string => `tag:msgin5g-gateway,2026:problem:${name}`;

/** An RFC 9457 problem details object; extension members (`checks`, …) may follow. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

/** Builds the problem of kind `name` for the request path `instance`. */
export function problem(name: ProblemName, detail: string, instance: string, extensions: Record<string, unknown> = {}): Problem {
  const { status, title } = PROBLEM_TYPES[name];
  return { type: problemType(name), title, status, detail, instance, ...extensions };
}

/** A problem the HTTP status describes fully (`type` about:blank, `title` the status phrase). */
export function httpProblem(status: number, title: string, detail: string, instance: string): Problem {
  return { type: 'about:blank', title, status, detail, instance };
}
