// Next.js calls register() once when the server starts (Node runtime only): stamp each request with its
// socket's address (route handlers get no socket; login throttling needs it) and run the maintenance loop.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { edgeConfig, stampPeersOnAllServers } = await import('@sextant/api');
    edgeConfig(); // a bad SEXTANT_* setting stops the start instead of failing every request
    stampPeersOnAllServers();
    const { startMaintenance } = await import('./src/server/maintenance');
    startMaintenance();
  }
}
