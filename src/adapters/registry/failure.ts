// Why a registry lookup failed, as the client reports it (`not-found`, `unauthorized`, `error`); the
// message never carries a secret. Its own module: the HTTP layer and the credential sources both throw it.
import { redactSecrets } from '../../redact.ts';

export class RegistryFailure extends Error {
  constructor(
    readonly kind: 'not-found' | 'unauthorized' | 'error',
    message: string,
  ) {
    super(redactSecrets(message));
  }
}
