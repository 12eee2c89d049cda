// The one place an Actor becomes words, per surface. Slack resolves `<@U…>` itself; the terminal and
// GitHub cannot, so they get the handle the request carried (or the id) and where it came from.
// GitHub never gets an `@name`: on GitHub that would mention an unrelated GitHub user.
import { asActor, type Actor } from '../auth/actor.ts';

export type PeopleSurface = 'slack' | 'terminal' | 'github';

export function personName(stored: Actor | string, surface: PeopleSurface): string {
  const a = asActor(stored);
  switch (a.via) {
    case 'slack':
      if (surface === 'slack') return `<@${a.userId}>`;
      return a.name ? `${a.name} (on Slack)` : `Slack user ${a.userId}`;
    case 'cli':
      return `${a.login} (from the terminal)`;
    case 'signal':
      return a.name === 'archshift' ? 'archshift' : `archshift (on ${a.name})`;
  }
}
