import { pino, type Logger } from 'pino';

// Secrets must never reach the log, whatever object a caller passes in.
const redact = [
  '*.token', '*.botToken', '*.appToken', '*.signingSecret', '*.password', '*.privateKey', '*.auth',
  '*.authorization', '*.Authorization', 'headers.authorization', 'req.headers.authorization',
  'config.slack', 'config.github.token', 'config.github.app.privateKey',
];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, redact: { paths: redact, censor: '[redacted]' }, base: { app: 'archshift' } });
}

export type { Logger };
