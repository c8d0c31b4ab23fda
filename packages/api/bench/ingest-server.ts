/** The API server process for bench:ingest (runs apart from the senders, as in production). */
import { connect } from '@sextant/db';
import { startStandaloneServer } from '../src/standalone';
import { SEXTANT_VERSION } from '../src/version';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const db = connect(url, { poolSize: 16 });
const server = await startStandaloneServer({ db, version: SEXTANT_VERSION });
process.send?.({ url: server.url });
process.on('message', (m) => {
  if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ cpuSeconds: (u.user + u.system) / 1e6 });
  }
});
process.on(
  'SIGTERM',
  () =>
    void server
      .close()
      .then(() => db.close())
      .then(() => process.exit(0)),
);
process.on('disconnect', () => process.exit(0));
