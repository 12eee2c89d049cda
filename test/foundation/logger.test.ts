import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.ts';

test('tokens and Authorization headers are redacted, also inside HTTP client errors', () => {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (s: string) => void lines.push(s) });
  const err = Object.assign(new Error('GitHub answered 500'), {
    request: { method: 'POST', url: 'https://api.github.com/repos/a/b/pulls', headers: { authorization: 'token ghs_secret1' } },
    response: { status: 500, headers: { Authorization: 'Bearer secret2' } },
  });
  logger.error({ err, registry: { auth: 'dXNlcjpzZWNyZXQz' }, slack: { botToken: 'xoxb-secret4' } }, 'failed');
  logger.info({ call: { options: { headers: { authorization: 'Basic secret5' } } } }, 'nested');
  const out = lines.join('\n');
  for (const secret of ['ghs_secret1', 'secret2', 'dXNlcjpzZWNyZXQz', 'xoxb-secret4', 'secret5'])
    assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
  assert.match(out, /GitHub answered 500/);
  assert.match(out, /\[redacted\]/);
});
