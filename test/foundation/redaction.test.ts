// Issue 11 item 11 (secrets): a GitHub error body that echoes the Authorization header must not carry
// the token into any error text (which can reach Slack), not only the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { GitHubClient } from '../../src/adapters/github.ts';
import { UserError } from '../../src/errors.ts';
import { redactSecrets } from '../../src/redact.ts';
import { fitToSlack } from '../../src/adapters/slack-limits.ts';
import { createLogger } from '../../src/logger.ts';
import { closeServer, listenLocal } from '../fakes/net.ts';

const TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';

test('a GitHub 422 that echoes the request headers gives an error text without the token', async () => {
  const server = createServer((req, res) => {
    res.writeHead(422, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        message: `Validation failed; request was ${JSON.stringify({ headers: { authorization: req.headers.authorization } })}`,
      }),
    );
  });
  const url = await listenLocal(server);
  try {
    const github = new GitHubClient({
      baseUrl: url,
      allow: ['acme/*'],
      writeIntervalMs: 0,
      auth: { kind: 'token', token: TOKEN },
      retries: 0,
      timeScaleMs: 1,
    });
    const err = await github.repoInfo('acme/api').then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'the call failed');
    assert.match(err.message, /422|Validation failed/);
    assert.ok(!err.message.includes(TOKEN), err.message);
    assert.ok(!err.message.includes('0123456789abcdef'), err.message);
  } finally {
    await closeServer(server);
  }
});

test('UserError texts, Slack messages and logged error messages are redacted', () => {
  const quoted = `registry said: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJlLXZhbHVl and ${TOKEN}`;
  assert.ok(!new UserError(quoted).message.includes('eyJhbGci'));
  const { content } = fitToSlack({
    text: quoted,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `xoxb-1111-2222-abcdefghij ${TOKEN}` } }],
  });
  assert.ok(!JSON.stringify(content).includes(TOKEN));
  assert.ok(!JSON.stringify(content).includes('xoxb-1111'));
  const lines: string[] = [];
  createLogger('info', { write: (s: string) => void lines.push(s) }).error({ err: new Error(quoted) }, 'failed');
  assert.ok(!lines.join('').includes(TOKEN) && !lines.join('').includes('eyJhbGci'), lines.join(''));
  // Ordinary words stay.
  assert.equal(
    redactSecrets('the token service of docker.io refused an anonymous token'),
    'the token service of docker.io refused an anonymous token',
  );
  assert.equal(redactSecrets('https://alice:s3cret@registry.example/v2/'), 'https://[redacted]@registry.example/v2/');
  assert.equal(redactSecrets('password=hunter22&user=x'), 'password=[redacted]&user=x');
});
