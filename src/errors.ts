// Errors whose message is written for the person who asked: surfaces show them as they are. Any
// other error is a bug or an outage: the user gets a short message with a reference, the log the detail.
import { redactSecrets } from './redact.ts';

export class UserError extends Error {
  constructor(message: string) {
    super(redactSecrets(message));
    this.name = new.target.name;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** A feature was asked for whose configuration is missing; the message says what to set. */
export class NotConfiguredError extends UserError {}
