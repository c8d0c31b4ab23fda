// Test-only page for `npm run bench:ui`: renders the real map and flow-table components with generated data.
// It exists only when the server runs with SEXTANT_UI_BENCH=1; otherwise it is a 404.
import { notFound } from 'next/navigation';
import { BenchClient } from './bench-client';

export const dynamic = 'force-dynamic';

export default function BenchPage() {
  if (process.env.SEXTANT_UI_BENCH !== '1') notFound();
  return <BenchClient />;
}
