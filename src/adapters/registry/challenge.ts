// WWW-Authenticate as RFC 7235 §4.1 defines it: a comma-separated list of challenges, each a scheme
// followed by either a token68 or comma-separated `name = value` parameters (value a token or a
// quoted-string with backslash escapes; spaces allowed around `=`). One header may carry several
// challenges (`Negotiate, Basic realm="x"`), and registry/http.ts joins repeated headers with ", "
// (as fetch does), which is the same list. Parameter names are case-insensitive, as are schemes.

export interface Challenge {
  /** Lower-cased (`bearer`, `basic`, `negotiate`, ...). */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Record<string, string>;
  token68?: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*/;

export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let s = header;
  const skip = (re: RegExp) => {
    s = s.replace(re, '');
  };
  for (;;) {
    skip(/^[\s,]+/);
    const scheme = TOKEN.exec(s)?.[0];
    if (!scheme) break;
    s = s.slice(scheme.length);
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    // A space, then either a token68 (`Negotiate abc==`) or parameters; no space means no parameters.
    if (!/^[ \t]/.test(s)) continue;
    skip(/^[ \t]+/);
    const t68 = TOKEN68.exec(s)?.[0];
    if (t68 && /^\s*(,|$)/.test(s.slice(t68.length))) {
      challenge.token68 = t68;
      s = s.slice(t68.length);
      continue;
    }
    // Parameters until something that is not `name = value` (the next challenge's scheme).
    for (;;) {
      const rest = s.replace(/^[\s,]+/, '');
      const name = TOKEN.exec(rest)?.[0];
      if (!name) {
        s = rest;
        break;
      }
      const afterName = rest.slice(name.length);
      const eq = /^[ \t]*=[ \t]*/.exec(afterName);
      if (!eq) break; // a scheme: leave it for the outer loop
      let value = afterName.slice(eq[0].length);
      let parsed: string;
      if (value.startsWith('"')) {
        let i = 1;
        parsed = '';
        for (; i < value.length && value[i] !== '"'; i++) {
          if (value[i] === '\\' && i + 1 < value.length) i++;
          parsed += value[i];
        }
        value = value.slice(i + 1);
      } else {
        parsed = TOKEN.exec(value)?.[0] ?? '';
        value = value.slice(parsed.length);
      }
      challenge.params[name.toLowerCase()] = parsed;
      s = value;
    }
  }
  return out;
}

export type RegistryAuth = { kind: 'basic' } | { kind: 'bearer'; realm: string; service?: string };

/**
 * What a registry asks for: Bearer (token service) first, then Basic; other schemes (Negotiate, NTLM)
 * are skipped rather than failing the whole header. A Bearer realm that is not an http(s) URL does not
 * count (there is no token service to ask).
 */
export function chooseRegistryAuth(header: string | null): RegistryAuth | undefined {
  if (!header) return undefined;
  const challenges = parseChallenges(header);
  for (const c of challenges) {
    if (c.scheme !== 'bearer' || !c.params.realm || !isHttpUrl(c.params.realm)) continue;
    return { kind: 'bearer', realm: c.params.realm, ...(c.params.service ? { service: c.params.service } : {}) };
  }
  return challenges.some((c) => c.scheme === 'basic') ? { kind: 'basic' } : undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
