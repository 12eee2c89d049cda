// Slack's Block Kit limits, enforced on every message as it leaves for Slack (SlackPoster, respond()),
// with credentials redacted from every text on the way out:
// Slack refuses a whole message with `invalid_blocks` when one piece is too long, so a canary paused on a
// long admission-webhook denial would stop updating. Pure: a message in, a message within the limits
// out, plus what was clipped. Limits from Slack's reference pages (docs.slack.dev/reference/block-kit):
// section text 3,000 and fields 10 × 2,000; header 150; button text 75, value 2,000, url 3,000,
// action_id 255; block_id 255; context 10 elements; actions 25 elements; confirm dialog title 100,
// text 300, confirm/deny 30; image alt_text 2,000; 50 blocks per message; message text 40,000.
import { redactSecrets } from '../redact.ts';

export const SLACK_LIMITS = {
  blocks: 50,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  blockId: 255,
  contextElements: 10,
  actionsElements: 25,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  altText: 2000,
} as const;

export interface SlackContent {
  text: string;
  blocks?: unknown[];
}

export interface Fitted<T> {
  content: T;
  /** One line per clipped or dropped piece, e.g. `section text 4106 > 3000`; empty when nothing was. */
  clipped: string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Clips `text` to `max` characters, ending with `suffix`; never cuts inside a `<...>` mention or link,
 * so the markup that stays is still valid.
 */
export function clipText(text: string, max: number, suffix = '…'): string {
  if (text.length <= max) return text;
  let cut = Math.max(0, max - suffix.length);
  const open = text.lastIndexOf('<', cut);
  if (open >= 0 && text.indexOf('>', open) >= cut) cut = open;
  // Never split a surrogate pair (an emoji would turn into a lone half).
  if (cut > 0 && /[\uD800-\uDBFF]/.test(text[cut - 1]!)) cut--;
  return text.slice(0, cut) + suffix;
}

/**
 * The message within Slack's limits. `fullTextAt` says where a reader finds what was clipped (e.g.
 * "the thread", "`archshift canary checkout status`"); it goes into each clipped piece's ending.
 */
export function fitToSlack<T extends SlackContent>(content: T, fullTextAt = "the bot's log"): Fitted<T> {
  const clipped: string[] = [];
  const note = ` … (clipped; full text: ${fullTextAt})`;
  const fit = (what: string, raw: string, max: number, suffix = note): string => {
    // The last line of defence: no credential quoted in an error text reaches a channel.
    const text = redactSecrets(raw);
    if (text.length <= max) return text;
    clipped.push(`${what} ${text.length} > ${max}`);
    return clipText(text, max, suffix.length < max / 2 ? suffix : '…');
  };
  const textObject = (what: string, t: unknown, max: number, suffix?: string): unknown =>
    isObject(t) && typeof t.text === 'string' ? { ...t, text: fit(what, t.text, max, suffix) } : t;

  const element = (e: unknown): unknown => {
    if (!isObject(e)) return e;
    const out: Json = { ...e };
    if (typeof out.action_id === 'string') out.action_id = fit('action_id', out.action_id, SLACK_LIMITS.actionId, '');
    if (e.type === 'button') {
      out.text = textObject('button text', e.text, SLACK_LIMITS.buttonText, '…');
      if (typeof out.url === 'string' && out.url.length > SLACK_LIMITS.buttonUrl) {
        clipped.push(`button url ${out.url.length} > ${SLACK_LIMITS.buttonUrl}`);
        delete out.url;
      }
    }
    if (e.type === 'image' && typeof e.alt_text === 'string') out.alt_text = fit('alt_text', e.alt_text, SLACK_LIMITS.altText, '…');
    if (isObject(e.confirm)) {
      out.confirm = {
        ...e.confirm,
        title: textObject('confirm title', e.confirm.title, SLACK_LIMITS.confirmTitle, '…'),
        text: textObject('confirm text', e.confirm.text, SLACK_LIMITS.confirmText, '…'),
        confirm: textObject('confirm button', e.confirm.confirm, SLACK_LIMITS.confirmButton, '…'),
        deny: textObject('deny button', e.confirm.deny, SLACK_LIMITS.confirmButton, '…'),
      };
    }
    return out;
  };
  // A button whose value is too long cannot be clipped (the click would act on a different value): it is dropped.
  const keepElement = (e: unknown): boolean => {
    if (isObject(e) && e.type === 'button' && typeof e.value === 'string' && e.value.length > SLACK_LIMITS.buttonValue) {
      clipped.push(`button value ${e.value.length} > ${SLACK_LIMITS.buttonValue} (button dropped)`);
      return false;
    }
    return true;
  };

  const block = (b: unknown): unknown => {
    if (!isObject(b)) return b;
    const out: Json = { ...b };
    if (typeof b.block_id === 'string') out.block_id = fit('block_id', b.block_id, SLACK_LIMITS.blockId, '');
    switch (b.type) {
      case 'section': {
        out.text = textObject('section text', b.text, SLACK_LIMITS.sectionText);
        if (Array.isArray(b.fields)) {
          if (b.fields.length > SLACK_LIMITS.sectionFields)
            clipped.push(`section fields ${b.fields.length} > ${SLACK_LIMITS.sectionFields}`);
          out.fields = b.fields.slice(0, SLACK_LIMITS.sectionFields).map((f) => textObject('field text', f, SLACK_LIMITS.fieldText));
        }
        if (isObject(b.accessory)) {
          if (keepElement(b.accessory)) out.accessory = element(b.accessory);
          else delete out.accessory;
        }
        break;
      }
      case 'header':
        out.text = textObject('header text', b.text, SLACK_LIMITS.headerText, '…');
        break;
      case 'context':
        if (Array.isArray(b.elements)) {
          let elements = b.elements.map((e) =>
            isObject(e) && typeof e.text === 'string' ? textObject('context text', e, SLACK_LIMITS.sectionText) : element(e),
          );
          if (elements.length > SLACK_LIMITS.contextElements) {
            clipped.push(`context elements ${elements.length} > ${SLACK_LIMITS.contextElements}`);
            const more = elements.length - (SLACK_LIMITS.contextElements - 1);
            elements = [
              ...elements.slice(0, SLACK_LIMITS.contextElements - 1),
              { type: 'mrkdwn', text: `+${more} more (full text: ${fullTextAt})` },
            ];
          }
          out.elements = elements;
        }
        break;
      case 'actions':
        if (Array.isArray(b.elements)) {
          const kept = b.elements.filter(keepElement);
          if (kept.length > SLACK_LIMITS.actionsElements) clipped.push(`actions elements ${kept.length} > ${SLACK_LIMITS.actionsElements}`);
          out.elements = kept.slice(0, SLACK_LIMITS.actionsElements).map(element);
        }
        break;
      case 'image':
        if (typeof b.alt_text === 'string') out.alt_text = fit('alt_text', b.alt_text, SLACK_LIMITS.altText, '…');
        break;
    }
    return out;
  };

  let blocks = content.blocks?.map(block);
  // An actions block left with no buttons is itself invalid.
  blocks = blocks?.filter((b) => !(isObject(b) && b.type === 'actions' && Array.isArray(b.elements) && b.elements.length === 0));
  if (blocks && blocks.length > SLACK_LIMITS.blocks) {
    clipped.push(`blocks ${blocks.length} > ${SLACK_LIMITS.blocks}`);
    const more = blocks.length - (SLACK_LIMITS.blocks - 1);
    blocks = [
      ...blocks.slice(0, SLACK_LIMITS.blocks - 1),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${more} more blocks not shown (full text: ${fullTextAt})` }] },
    ];
  }
  const text = fit('message text', content.text, SLACK_LIMITS.messageText);
  return { content: { ...content, text, ...(blocks ? { blocks } : {}) }, clipped };
}
