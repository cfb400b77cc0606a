// Accept-Encoding (RFC 9110 §12.5.3), for a route that can answer gzip or identity. A small parser
// rather than @fastify/compress: the one stream that is compressed is our own generator's, and the
// decision is made once per request, before anything is sent.
//
// The rules:
// - No Accept-Encoding at all: identity. RFC 9110 lets a server pick any coding then, but a client
//   that says nothing (curl without --compressed, a script writing the body to sysfs.tar) expects the
//   bytes as they are.
// - An empty field value: identity (the client wants no content coding).
// - Otherwise each member is `coding[;q=weight]` (coding and `q` case-insensitive, OWS around `;`).
//   `x-gzip` is gzip (§8.4.1.3). A coding's weight is its own member's, else that of `*`; gzip that is
//   not named and not covered by `*` is not acceptable. identity has its own member's weight, else
//   that of `*`, else the lowest weight listed (acceptable, but after every coding the client named,
//   as the negotiator package ranks it): it is refused only by `identity;q=0`, or `*;q=0` with no
//   member for identity (the one exclusion RFC 9110 names). A weight that is not a qvalue (`0`…`1`,
//   three decimals at most) makes its member void; a coding named twice keeps its highest weight.
// - gzip is chosen when its weight is above 0 and at least identity's (ties go to gzip: the archive is
//   mostly zero padding and shrinks tenfold or more). When neither is acceptable, identity is sent
//   (§12.5.3: a server SHOULD then send the content without a coding).

export type ContentCoding = 'gzip' | 'identity';

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The weights an Accept-Encoding value gives, by lower-cased coding (`x-gzip` folded into `gzip`). */
export function parseAcceptEncoding(value: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const member of value.split(',')) {
    const [rawCoding = '', ...params] = member.split(';');
    let coding = rawCoding.trim().toLowerCase();
    if (coding === '') continue;
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    let valid = true;
    for (const param of params) {
      const eq = param.indexOf('=');
      const name = (eq === -1 ? param : param.slice(0, eq)).trim().toLowerCase();
      if (name !== 'q') continue; // no other parameters are defined for codings; ignored
      const weight = eq === -1 ? '' : param.slice(eq + 1).trim();
      if (!QVALUE.test(weight)) {
        valid = false;
        break;
      }
      q = Number(weight);
    }
    if (!valid) continue;
    weights.set(coding, Math.max(q, weights.get(coding) ?? 0));
  }
  return weights;
}

/**
 * The coding to answer with, gzip or identity, for the Accept-Encoding header(s) of a request
 * (as node gives them: absent, one string, or several).
 */
export function negotiateGzip(header: string | readonly string[] | undefined): ContentCoding {
  if (header === undefined) return 'identity';
  const weights = parseAcceptEncoding(typeof header === 'string' ? header : header.join(','));
  const star = weights.get('*');
  const gzip = weights.get('gzip') ?? star ?? 0;
  const identity = weights.get('identity') ?? star ?? Math.min(1, ...weights.values());
  return gzip > 0 && gzip >= identity ? 'gzip' : 'identity';
}
