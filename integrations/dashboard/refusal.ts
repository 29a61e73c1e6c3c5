/**
 * A refusal an endpoint throws (bad input, not allowed, wrong method) and the handler answers with.
 *
 * @module
 */
import { fail } from '../http/respond.js';

/** Carries the response to send; thrown so checks deep in an endpoint end the request at once. @internal */
export class Refusal {
  constructor(readonly response: Response) {}
}

/** A {@link Refusal} with the JSON error shape `{ error: { code, message } }`. @internal */
export function refuse(status: number, code: string, message: string, headers?: Record<string, string>): Refusal {
  return new Refusal(fail(status, code, message, headers));
}
