// Test-only page for `npm run bench:ui`: renders the real map and flow-table components with generated data.
// A `.bench.tsx` page is a route only in a build made with SEXTANT_UI_BENCH=1 (next.config.ts pageExtensions),
// so production builds contain neither this page nor the generated data it imports.
import { BenchClient } from './bench-client';

export const dynamic = 'force-dynamic';

export default function BenchPage() {
  return (
    <>
      {/* The figures are for the map and table alone, at the size they had before: no navigation bar. */}
      <style>{'header.top { display: none; }'}</style>
      <BenchClient />
    </>
  );
}
