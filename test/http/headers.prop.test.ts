/**
 * Header parsing is total: any string (garbage, hostile, huge) gives a value within its caps or `undefined`, never an
 * exception; and the structured-field parser agrees with the `structured-headers` package on generated valid lists.
 */
import fc from 'fast-check';
import { parseList as referenceList, Token } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { MAX_HINT_MS, MAX_QUOTA, SfToken, parseDictionary, parseList, parseLoadFactor, parseQuota, parseRetryAfter, readServerSignals } from '../../src/http/index.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const junk = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('', ' ', '"', ';', '=', ',', ':', '?', '(', '@', '%"'));

describe('header parsing never throws and caps what it returns', () => {
  it('Retry-After', () => {
    fc.assert(
      fc.property(junk, fc.double({ noNaN: false }), (s, now) => {
        const r = parseRetryAfter(s, now);
        expect(r === undefined || (r >= 0 && r <= MAX_HINT_MS)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('every rate-limit dialect and the load factor, with any header values', () => {
    const names = ['ratelimit', 'ratelimit-policy', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-limit', 'retry-after', 'retry-after-ms', 'x-load-factor'];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), junk), (h) => {
        const get = (n: string) => h[n] ?? null;
        const q = parseQuota(get, NOW);
        if (q !== undefined) {
          expect(q.remaining >= 0 && q.remaining <= MAX_QUOTA).toBe(true);
          expect(q.resetMs === undefined || (q.resetMs >= 0 && q.resetMs <= MAX_HINT_MS)).toBe(true);
        }
        const s = readServerSignals(get, NOW, 'x-load-factor');
        expect(s.retryAfterMs === undefined || (s.retryAfterMs >= 0 && s.retryAfterMs <= MAX_HINT_MS)).toBe(true);
        expect(s.loadFactor === undefined || (s.loadFactor >= 0 && s.loadFactor <= 100)).toBe(true);
        const f = parseLoadFactor(h['x-load-factor']);
        expect(f === undefined || f <= 100).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a header getter that throws is an absent header', () => {
    const s = readServerSignals(() => {
      throw new Error('hostile');
    }, NOW, 'x-load-factor');
    expect(s).toEqual({ retryAfterMs: undefined, quota: undefined, loadFactor: undefined });
  });

  it('structured-field parsers are total on garbage and on huge input', () => {
    fc.assert(
      fc.property(junk, (s) => {
        parseList(s);
        parseDictionary(s);
      }),
      { numRuns: 3000 },
    );
    expect(parseList('a,'.repeat(10_000))).toBeUndefined();
  });
});

/** Generated valid List members: String or Token names with Integer/String/Token/Boolean parameters. */
const key = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,6}$/);
const token = fc.stringMatching(/^[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,8}$/);
const sfString = fc.string({ maxLength: 12 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x'));
const bare = fc.oneof(
  fc.integer({ min: -999_999, max: 999_999 }).map((n) => ({ text: String(n), value: n as unknown })),
  sfString.map((s) => ({ text: `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`, value: s as unknown })),
  token.map((t) => ({ text: t, value: new SfToken(t) as unknown })),
  fc.boolean().map((b) => ({ text: b ? '?1' : '?0', value: b as unknown })),
);
const member = fc.tuple(fc.oneof(sfString.map((s) => ({ text: `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`, value: s as unknown })), token.map((t) => ({ text: t, value: new SfToken(t) as unknown }))), fc.array(fc.tuple(key, bare), { maxLength: 4 }));

function normal(x: unknown): unknown {
  if (x instanceof SfToken) return { token: x.value };
  if (x instanceof Token) return { token: x.toString() };
  return x;
}

describe('parseList agrees with the structured-headers package (RFC 9651)', () => {
  it('on generated valid lists', () => {
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ', ', ' ,  '), (members, sep) => {
        const text = members.map(([name, params]) => name.text + params.map(([k, b]) => `;${k}=${b.text}`).join('')).join(sep);
        const ours = parseList(text);
        const theirs = referenceList(text);
        expect(ours).toBeDefined();
        const a = ours!.map((m) => ('items' in m ? null : [normal(m.value), [...m.params].map(([k, x]) => [k, normal(x)])]));
        const b = theirs.map((m) => [normal(m[0]), [...(m[1] as Map<string, unknown>)].map(([k, x]) => [k, normal(x)])]);
        expect(a).toEqual(b);
      }),
      { numRuns: 1500 },
    );
  });

  it('on garbage: when ours fails, it is malformed for the reference too (never the reverse for Lists of items)', () => {
    fc.assert(
      fc.property(junk, (s) => {
        let theirs: unknown;
        try {
          theirs = referenceList(s);
        } catch {
          theirs = undefined;
        }
        const ours = parseList(s);
        if (ours === undefined && s.length <= 8192) expect(theirs).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });
});

describe('originOf (the fast origin of the default key)', () => {
  it('agrees with new URL().origin on generated URLs, and on the tricky hosts', async () => {
    const { originOf } = await import('../../src/http/guard.js');
    const tricky = ['http://127.000.0.1/x', 'http://0x7f.1/', 'https://a.b:443/', 'http://a.b:80', 'http://a.b:080/', 'http://A.B/', 'http://user@a.b/', 'https://a.b:8443?q', 'http://1.2.3.4:65535/', 'http://a..b/', 'http://a.b.:81/'];
    for (const u of tricky) {
      let expected: string | Error;
      try {
        expected = new URL(u).origin;
      } catch (e) {
        expected = e as Error;
      }
      if (expected instanceof Error) expect(() => originOf(u), u).toThrow();
      else expect(originOf(u), u).toBe(expected);
    }
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.constantFrom('', ':80', ':443', ':8080', ':0', ':00080'), (u, port) => {
        const m = /^(https?:\/\/[^/?#]+)(.*)$/.exec(u);
        const url = m === null ? u : `${m[1]}${port}${m[2]}`;
        let expected: string | undefined;
        try {
          expected = new URL(url).origin;
        } catch {
          expected = undefined;
        }
        if (expected === undefined) expect(() => originOf(url)).toThrow();
        else expect(originOf(url)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
