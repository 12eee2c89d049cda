// Signed-but-malformed Slack request bodies from the attack run of issue 11 (item 8), shared by the test
// that expects each answered 400 within a second and by bench/attack.bench.ts, which times them.
const FORM = 'application/x-www-form-urlencoded';
const payload = (json: string) => `payload=${encodeURIComponent(json)}`;

export const MALFORMED_SLACK_BODIES: Array<{ name: string; body: string; contentType: string }> = [
  { name: 'payload=null', body: 'payload=null', contentType: FORM },
  { name: 'payload is a string', body: payload('"x"'), contentType: FORM },
  { name: 'payload is not JSON', body: 'payload=%7B', contentType: FORM },
  { name: 'payload without a type', body: payload('{"user":{"id":"U1"}}'), contentType: FORM },
  { name: 'unknown interaction type', body: payload('{"type":"nope","user":{"id":"U1"}}'), contentType: FORM },
  { name: 'block_actions without user', body: payload('{"type":"block_actions","actions":[{}]}'), contentType: FORM },
  {
    name: 'block_actions without actions',
    body: payload('{"type":"block_actions","user":{"id":"U1"},"team":{"id":"T1"}}'),
    contentType: FORM,
  },
  {
    name: 'block_actions with team 5',
    body: payload('{"type":"block_actions","user":{"id":"U1"},"team":5,"actions":[{}]}'),
    contentType: FORM,
  },
  { name: 'a form with nothing', body: 'a=b', contentType: FORM },
  { name: 'a command without response_url', body: 'command=%2Farm64&user_id=U1&channel_id=C1&team_id=T1&text=help', contentType: FORM },
  {
    name: 'a JSON-content-type command',
    body: JSON.stringify({ command: '/arm64', text: 'help', user_id: 'U1', channel_id: 'C1', team_id: 'T1', type: 'x' }),
    contentType: 'application/json',
  },
  { name: 'JSON null', body: 'null', contentType: 'application/json' },
  { name: 'JSON array', body: '[1]', contentType: 'application/json' },
  { name: 'not JSON at all', body: '{{', contentType: 'application/json' },
  { name: 'text/plain', body: 'hello', contentType: 'text/plain' },
  { name: 'event_callback without event', body: '{"type":"event_callback"}', contentType: 'application/json' },
];
