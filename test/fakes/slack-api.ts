// A fake Slack Web API on loopback that answers like Slack (`{ ok: true, ... }` or `{ ok: false, error }`),
// records every call, serves response_url posts, the external file-upload flow, and a Socket Mode
// WebSocket endpoint (apps.connections.open → ws://...), so Bolt and WebClient run unmodified against it.
// Strict where Slack is: blocks beyond Block Kit's limits get `invalid_blocks` (./block-kit.ts) on
// chat.postMessage / chat.update / chat.postEphemeral and response_url posts; chat.postMessage answers
// with the channel's ID even when given its name (`#arm64-migration`), and chat.update and
// files.completeUploadExternal take IDs only, as Slack does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './net.ts';
import { WebSocketServer, type WebSocket } from 'ws';
import { blockKitErrors } from './block-kit.ts';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  token?: string;
  /** For `response_url` posts: the id given to responseUrl(id). */
  responseId?: string;
}

export interface Upload {
  fileId: string;
  filename: string;
  bytes: Buffer;
}

interface InjectedFailure {
  method: string;
  error?: string;
  /** HTTP 429 with this Retry-After (seconds) instead of an ok:false body. */
  retryAfter?: number;
  times: number;
}

export class FakeSlackApi {
  readonly calls: SlackCall[] = [];
  /** Bodies posted to response_url (ephemeral replies from `respond()`). */
  readonly responses: Array<Record<string, unknown>> = [];
  readonly uploads: Upload[] = [];
  /** Members of user groups, for usergroups.users.list. */
  readonly userGroups = new Map<string, string[]>();
  url = '';
  private server?: Server;
  private wss?: WebSocketServer;
  private sockets = new Set<WebSocket>();
  private ts = 1_700_000_000;
  private failures: InjectedFailure[] = [];
  private pendingUploads = new Map<string, { filename: string }>();
  /** ts → channel ID of every message posted through chat.postMessage. */
  readonly posted = new Map<string, string>();
  /** Channel names (without `#`) → IDs, made up the first time a name is posted to. */
  readonly channelIds = new Map<string, string>();
  private waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];

  /** Base URL for WebClient's `slackApiUrl`. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  responseUrl(id = 'r1'): string {
    return `${this.url}/response/${id}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        ws.on('message', (data) => this.onSocketMessage(JSON.parse(String(data))));
        ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' }, debug_info: { host: 'fake' } }));
      });
    });
    this.url = await listenLocal(this.server);
    return this;
  }

  async stop(): Promise<void> {
    // Wait for each socket's close handshake, or the client's close timer keeps the process alive.
    await Promise.all(
      [...this.sockets].map(
        (ws) =>
          new Promise<void>((r) => {
            ws.once('close', () => r());
            ws.close();
            setTimeout(r, 1000).unref();
          }),
      ),
    );
    this.wss?.close();
    await closeServer(this.server);
  }

  fail(method: string, failure: { error?: string; retryAfter?: number; times?: number }): void {
    this.failures.push({ method, times: 1, ...failure });
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `pred` holds (checked after every recorded call), or rejects after `ms`. */
  waitFor(pred: () => boolean, ms = 5000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the fake Slack API')), ms);
      this.waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  // --- Socket Mode ---------------------------------------------------------------------------------
  private acks = new Map<string, (payload: unknown) => void>();

  /** Delivers a slash command over Socket Mode and resolves with Bolt's ack payload. */
  sendSocketCommand(payload: Record<string, unknown>): Promise<unknown> {
    const envelopeId = `env-${++this.ts}`;
    const ack = new Promise<unknown>((resolve) => this.acks.set(envelopeId, resolve));
    const msg = JSON.stringify({ envelope_id: envelopeId, type: 'slash_commands', accepts_response_payload: true, payload });
    for (const ws of this.sockets) ws.send(msg);
    return ack;
  }

  private onSocketMessage(msg: { envelope_id?: string; payload?: unknown }): void {
    if (msg.envelope_id) this.acks.get(msg.envelope_id)?.(msg.payload ?? {});
  }

  // --- HTTP ----------------------------------------------------------------------------------------
  private record(call: SlackCall): void {
    this.calls.push(call);
    this.waiters = this.waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');

    if (url.pathname.startsWith('/upload/')) {
      const id = url.pathname.slice('/upload/'.length);
      const pending = this.pendingUploads.get(id);
      if (!pending) return json(res, 404, { ok: false, error: 'invalid_upload' });
      this.uploads.push({ fileId: id, filename: pending.filename, bytes: extractMultipartFile(raw, req.headers['content-type']) });
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(`OK - ${raw.length}`);
    }
    if (url.pathname.startsWith('/response/')) {
      const body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      const errors = body.blocks === undefined ? [] : blockKitErrors(body.blocks);
      // Slack answers a response_url post with bad blocks 400 and the error, and shows nothing.
      if (!errors.length) this.responses.push(body);
      this.record({ method: 'response_url', args: body, responseId: url.pathname.slice('/response/'.length) });
      return errors.length ? json(res, 400, { ok: false, error: 'invalid_blocks', errors }) : json(res, 200, { ok: true });
    }
    if (!url.pathname.startsWith('/api/')) return json(res, 404, { ok: false, error: 'unknown_path' });

    const method = url.pathname.slice('/api/'.length);
    const args = parseBody(raw.toString('utf8'), req.headers['content-type']);
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    this.record({ method, args, token });

    const failure = this.failures.find((f) => f.method === method);
    if (failure) {
      if (--failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      if (failure.retryAfter !== undefined) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(failure.retryAfter) });
        return void res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      }
      return json(res, 200, { ok: false, error: failure.error ?? 'internal_error' });
    }
    if (!token) return json(res, 200, { ok: false, error: 'not_authed' });
    return json(res, 200, this.answer(method, args));
  }

  /** The ID of a channel given by ID or by name (`#name` or `name`), as Slack resolves it for chat.postMessage. */
  channelId(channel: string): string {
    if (/^[CDG][A-Z0-9]+$/.test(channel)) return channel;
    const name = channel.replace(/^#/, '');
    let id = this.channelIds.get(name);
    if (!id) {
      id = `C0${String(this.channelIds.size + 1).padStart(8, '0')}`;
      this.channelIds.set(name, id);
    }
    return id;
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    if (['chat.postMessage', 'chat.update', 'chat.postEphemeral'].includes(method) && args.blocks !== undefined) {
      const errors = blockKitErrors(typeof args.blocks === 'string' ? JSON.parse(args.blocks) : args.blocks);
      if (errors.length)
        return { ok: false, error: 'invalid_blocks', errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } };
    }
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'archshift',
          team_id: 'T1',
          user_id: 'U0BOT',
          bot_id: 'B0BOT',
        };
      case 'apps.connections.open':
        return { ok: true, url: `${this.url.replace('http', 'ws')}/socket` };
      case 'chat.postMessage': {
        if (!args.channel) return { ok: false, error: 'channel_not_found' };
        const ts = `${++this.ts}.000100`;
        const channel = this.channelId(String(args.channel));
        this.posted.set(ts, channel);
        return { ok: true, channel, ts, message: { text: args.text, ts } };
      }
      case 'chat.update':
        // Like Slack: only a message this bot posted, in the channel it was posted to, can be updated.
        if (this.posted.get(String(args.ts)) !== String(args.channel)) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${++this.ts}.000200` };
      case 'files.getUploadURLExternal': {
        const id = `F${++this.ts}`;
        this.pendingUploads.set(id, { filename: String(args.filename) });
        return { ok: true, upload_url: `${this.url}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        // channel_id must be an ID; a name is refused.
        if (args.channel_id !== undefined && !/^[CDG][A-Z0-9]+$/.test(String(args.channel_id)))
          return { ok: false, error: 'invalid_channel' };
        const files = typeof args.files === 'string' ? (JSON.parse(args.files) as Array<{ id: string; title?: string }>) : [];
        const missing = files.find((f) => !this.uploads.some((u) => u.fileId === f.id));
        if (missing) return { ok: false, error: 'file_not_found' };
        return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title })) };
      }
      case 'usergroups.users.list':
        return { ok: true, users: this.userGroups.get(String(args.usergroup)) ?? [] };
      case 'views.open':
        return { ok: true, view: { id: 'V1' } };
      default:
        return { ok: true };
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function parseBody(text: string, contentType = ''): Record<string, unknown> {
  if (!text) return {};
  if (contentType.includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    // WebClient JSON-encodes object arguments (blocks, attachments) inside the form body.
    out[k] = (k === 'blocks' || k === 'attachments') && v.startsWith('[') ? JSON.parse(v) : v;
  }
  return out;
}

/** The file bytes of a multipart/form-data upload, or the raw body when it is not multipart. */
function extractMultipartFile(raw: Buffer, contentType = ''): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) return raw;
  const marker = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const start = raw.indexOf(marker);
  const headerEnd = raw.indexOf('\r\n\r\n', start);
  const end = raw.indexOf(marker, headerEnd);
  return raw.subarray(headerEnd + 4, end - 2);
}
