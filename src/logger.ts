import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from './redact.ts';

// Secrets must never reach the log, whatever object a caller passes in.
const redact = [
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.password',
  '*.privateKey',
  '*.auth',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'req.headers.authorization',
  // Errors from HTTP clients carry the request (and sometimes a copy of its options) a level or two down.
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.*.headers.authorization',
  '*.*.headers.Authorization',
  'config.slack',
  'config.github.token',
  'config.github.app.privateKey',
];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: redact, censor: '[redacted]' },
    base: { app: 'archshift' },
    // Paths cannot reach a token quoted inside an error's message or stack.
    serializers: {
      err: (err: unknown) => {
        if (typeof err === 'string') return redactSecrets(err);
        if (!(err instanceof Error)) return err;
        const out = stdSerializers.err(err);
        return { ...out, message: redactSecrets(out.message ?? ''), stack: redactSecrets(out.stack ?? '') };
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
