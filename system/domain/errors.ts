/** The error catalogue: every failure the API reports, by kind. http/errors.ts is the one place that maps them to responses. */
export const ERROR_KINDS = {
  BadRequest: 400,
  InvalidState: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  TooLarge: 413,
  ValidationError: 422,
  Locked: 423,
  Throttled: 429,
  InternalError: 500,
  /** Another node answered with a failure. */
  BadGateway: 502,
  ServiceUnavailable: 503,
  /** Another node did not answer in time. */
  GatewayTimeout: 504,
} as const;
export type ErrorKind = keyof typeof ERROR_KINDS;

/** One field that failed validation. */
export interface FieldError {
  field: string;
  message: string;
}

/** A failure with a kind from the catalogue and a message fit for the client. */
export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly extra: { fields?: FieldError[]; headers?: Record<string, string>; body?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_KINDS[this.kind];
  }
}

/** Catalogue constructors, so call sites read as what went wrong. */
export const errors = {
  notFound: (what: string) => new AppError('NotFound', `${what} not found`),
  badRequest: (message: string) => new AppError('BadRequest', message),
  invalidState: (message: string) => new AppError('InvalidState', message),
  conflict: (message: string) => new AppError('Conflict', message),
  forbidden: (message = 'Forbidden') => new AppError('Forbidden', message),
  unauthenticated: (message = 'Not authenticated') => new AppError('Unauthenticated', message),
  tooLarge: (limitBytes: number) => new AppError('TooLarge', `request body exceeds ${limitBytes} bytes`),
  unavailable: (message: string) => new AppError('ServiceUnavailable', message),
  validation: (fields: FieldError[]) =>
    new AppError('ValidationError', fields.map((f) => `${f.field}: ${f.message}`).join('; '), { fields }),
};
