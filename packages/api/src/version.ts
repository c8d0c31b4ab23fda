/** The server's version, reported by /api/health and to collectors. */
export const SEXTANT_VERSION = '0.1.0';
