import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { THEME_BOOT } from '../src/client/theme';
import './globals.css';
import { Providers } from './providers';
import { TopBar } from './top-bar';

export const metadata: Metadata = { title: 'Sextant', description: 'eBPF network observability' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_BOOT }} />
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
