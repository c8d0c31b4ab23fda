import type { Metadata } from 'next';
import { headers } from 'next/headers';
import type { ReactNode } from 'react';
import { THEME_BOOT } from '../src/client/theme';
import { THEME_CSS } from '../src/client/theme-palette';
import './globals.css';
import { Providers } from './providers';
import { TopBar } from './top-bar';

export const metadata: Metadata = { title: 'Sextant', description: 'eBPF network observability' };

// Reading the request (the CSP nonce set by proxy.ts) renders pages per request, as nonces require.
export default async function RootLayout({ children }: { children: ReactNode }) {
  const nonce = (await headers()).get('x-nonce') ?? undefined;
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <style dangerouslySetInnerHTML={{ __html: THEME_CSS }} />
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: THEME_BOOT }} />
      </head>
      <body>
        <Providers>
          <TopBar />
          <main>{children}</main>
        </Providers>
      </body>
    </html>
  );
}
