// Next.js calls register() once when the server starts: run the maintenance loop there (Node runtime only).
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { startMaintenance } = await import('./src/server/maintenance');
    startMaintenance();
  }
}
