// The first Bolt middleware on every request (HTTP and Socket Mode): requests for another app are
// dropped (acknowledged, logged, not run); users of another workspace or organization (Slack Connect)
// are recorded as external, so the role check treats them as viewers. See src/auth/slack-identity.ts.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Deps } from './types.ts';
import { identityOf, judgeIdentity, type HomeIdentity } from '../src/auth/slack-identity.ts';

export function identityCheck(deps: Deps, home: () => Promise<HomeIdentity>): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const req = identityOf(args.body);
    if (!req.userId) return args.next();
    // Without knowing home (auth.test failed just now), nobody is trusted beyond viewer for this request.
    const verdict = await home().then(
      (h) => judgeIdentity(h, req),
      () => ({ accepted: true as const, external: true }),
    );
    if (!verdict.accepted) {
      deps.logger.warn({ reason: verdict.reason, team: req.teamId, user: req.userId }, 'Slack request for another app dropped');
      if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
      return;
    }
    if (verdict.external) deps.auth.externalUsers.add(req.userId);
    await args.next();
  };
}
