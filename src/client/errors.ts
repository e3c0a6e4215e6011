/** Errors raised by the Engine API client. */

/** The daemon answered with an error status; `message` is the daemon's own text. */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
  }
  get isNotFound(): boolean {
    return this.statusCode === 404;
  }
  /** The text the docker CLI prints for it. */
  describe(): string {
    return `Error response from daemon: ${this.message}`;
  }
}

/** The daemon could not be reached at all. */
export class ConnectionError extends Error {
  readonly host: string;
  readonly code: string | undefined;
  constructor(host: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    super(`Cannot connect to the Berth daemon at ${host}. Is the berth daemon running?`, { cause });
    this.name = 'ConnectionError';
    this.host = host;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

export function isApiError(err: unknown, statusCode?: number): err is ApiError {
  return err instanceof ApiError && (statusCode === undefined || err.statusCode === statusCode);
}
