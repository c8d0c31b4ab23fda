/**
 * The one error type the L7 parsers throw on malformed or unsupported bytes. The engine catches it (and
 * anything else) and counts the bytes as unparsed: a parser error never escapes L7Engine.push.
 */
export class L7ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'L7ParseError';
  }
}
