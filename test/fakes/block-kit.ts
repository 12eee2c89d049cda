// Block Kit validation for the fake Slack API, written from Slack's reference pages
// (docs.slack.dev/reference/block-kit/blocks/*, .../block-elements/button-element, composition objects),
// independently of src/adapters/slack-limits.ts so a test of one is not a test of itself. Faithful:
// the lengths and counts below, the required fields of the blocks archshift sends, and Slack's answer
// shape (`invalid_blocks` with `must be less than N characters [json-pointer:/blocks/i/...]`). Not
// modelled: rich_text, input and video blocks, select menus, markdown parsing.

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Slack's error strings for a message's `blocks`; empty when Slack would accept them. */
export function blockKitErrors(blocks: unknown): string[] {
  const errors: string[] = [];
  const at = (path: string) => `[json-pointer:${path}]`;
  const max = (value: unknown, limit: number, path: string) => {
    if (typeof value === 'string' && value.length > limit) errors.push(`must be less than ${limit + 1} characters ${at(path)}`);
  };
  const text = (t: unknown, limit: number, path: string, required = true) => {
    if (t === undefined && !required) return;
    if (!isObject(t) || (t.type !== 'plain_text' && t.type !== 'mrkdwn') || typeof t.text !== 'string') {
      errors.push(`must provide an object ${at(path)}`);
      return;
    }
    if (t.text.length === 0) errors.push(`must be more than 0 characters ${at(`${path}/text`)}`);
    max(t.text, limit, `${path}/text`);
  };
  const plain = (t: unknown, limit: number, path: string) => {
    if (isObject(t) && t.type !== 'plain_text') errors.push(`must be a plain_text object ${at(path)}`);
    text(t, limit, path);
  };
  const element = (e: unknown, path: string) => {
    if (!isObject(e)) return errors.push(`must provide an object ${at(path)}`);
    max(e.action_id, 255, `${path}/action_id`);
    if (e.type === 'button') {
      plain(e.text, 75, `${path}/text`);
      max(e.value, 2000, `${path}/value`);
      max(e.url, 3000, `${path}/url`);
      if (isObject(e.confirm)) {
        plain(e.confirm.title, 100, `${path}/confirm/title`);
        text(e.confirm.text, 300, `${path}/confirm/text`);
        plain(e.confirm.confirm, 30, `${path}/confirm/confirm`);
        plain(e.confirm.deny, 30, `${path}/confirm/deny`);
      }
    } else if (e.type === 'image') max(e.alt_text, 2000, `${path}/alt_text`);
  };

  if (!Array.isArray(blocks)) return ['must provide an array [json-pointer:/blocks]'];
  if (blocks.length > 50) errors.push(`must contain at most 50 items ${at('/blocks')}`);
  blocks.forEach((b, i) => {
    const path = `/blocks/${i}`;
    if (!isObject(b) || typeof b.type !== 'string') return errors.push(`must provide an object ${at(path)}`);
    max(b.block_id, 255, `${path}/block_id`);
    switch (b.type) {
      case 'section':
        if (b.text === undefined && b.fields === undefined) errors.push(`must provide text or fields ${at(path)}`);
        text(b.text, 3000, `${path}/text`, false);
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields)) errors.push(`must provide an array ${at(`${path}/fields`)}`);
          else {
            if (b.fields.length > 10) errors.push(`must contain at most 10 items ${at(`${path}/fields`)}`);
            b.fields.forEach((f, j) => text(f, 2000, `${path}/fields/${j}`));
          }
        }
        if (b.accessory !== undefined) element(b.accessory, `${path}/accessory`);
        break;
      case 'header':
        plain(b.text, 150, `${path}/text`);
        break;
      case 'context':
        if (!Array.isArray(b.elements) || b.elements.length === 0) errors.push(`must provide a non-empty array ${at(`${path}/elements`)}`);
        else {
          if (b.elements.length > 10) errors.push(`must contain at most 10 items ${at(`${path}/elements`)}`);
          b.elements.forEach((e, j) =>
            isObject(e) && e.type === 'image' ? element(e, `${path}/elements/${j}`) : text(e, 3000, `${path}/elements/${j}`),
          );
        }
        break;
      case 'actions':
        if (!Array.isArray(b.elements) || b.elements.length === 0) errors.push(`must provide a non-empty array ${at(`${path}/elements`)}`);
        else {
          if (b.elements.length > 25) errors.push(`must contain at most 25 items ${at(`${path}/elements`)}`);
          b.elements.forEach((e, j) => element(e, `${path}/elements/${j}`));
        }
        break;
      case 'image':
        max(b.alt_text, 2000, `${path}/alt_text`);
        if (typeof b.image_url !== 'string' && !isObject(b.slack_file)) errors.push(`must provide image_url or slack_file ${at(path)}`);
        break;
      case 'divider':
      case 'rich_text':
      case 'file':
      case 'input':
      case 'video':
        break;
      default:
        errors.push(`unsupported block type ${at(`${path}/type`)}`);
    }
  });
  return errors;
}
