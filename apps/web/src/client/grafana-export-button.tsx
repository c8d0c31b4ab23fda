'use client';
/**
 * "Export to Grafana": picks the flavour (SQL over Sextant's database, or PromQL over /api/metrics), asks
 * the API for the dashboard JSON (grafana.export) and downloads it as a file to import in Grafana.
 */
import { useState } from 'react';
import { api } from './trpc';

type ExportInput = Parameters<typeof api.grafana.export.query>[0];
type Flavour = ExportInput['flavour'];

export interface GrafanaExportButtonProps {
  dashboard: ExportInput['dashboard'];
  /** Export one panel of the dashboard instead of all of it. */
  panel?: ExportInput['panel'];
  service?: string;
  namespace?: string;
  /** Button text; "Export to Grafana" by default. */
  label?: string;
}

const FLAVOURS: { flavour: Flavour; label: string; hint: string }[] = [
  { flavour: 'postgres', label: 'PostgreSQL data source', hint: "SQL over Sextant's rollups" },
  { flavour: 'prometheus', label: 'Prometheus data source', hint: 'PromQL over /api/metrics (Hubble metric names)' },
];

function download(name: string, json: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(json, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function GrafanaExportButton({ dashboard, panel, service, namespace, label }: GrafanaExportButtonProps) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onlyPostgres = panel === 'bytes';

  async function exportAs(flavour: Flavour) {
    setBusy(true);
    setError(null);
    try {
      const json = await api.grafana.export.query({ dashboard, flavour, panel, service: service || undefined, namespace });
      download(`${json.uid ?? 'sextant-dashboard'}.json`, json);
      setOpen(false);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="grafana-export" style={{ position: 'relative', display: 'inline-block' }}>
      <button
        type="button"
        className="secondary"
        aria-haspopup="menu"
        aria-expanded={open}
        disabled={busy}
        onClick={() => setOpen((o) => !o)}
      >
        {busy ? 'Exporting…' : (label ?? 'Export to Grafana')}
      </button>
      {open && (
        <span
          role="menu"
          className="panel"
          style={{
            position: 'absolute',
            right: 0,
            top: '100%',
            zIndex: 20,
            display: 'flex',
            flexDirection: 'column',
            gap: 6,
            minWidth: 260,
          }}
        >
          {FLAVOURS.filter((f) => !(onlyPostgres && f.flavour === 'prometheus')).map((f) => (
            <button
              key={f.flavour}
              type="button"
              role="menuitem"
              className="secondary"
              disabled={busy}
              title={f.hint}
              onClick={() => void exportAs(f.flavour)}
            >
              {f.label}
            </button>
          ))}
          {error && <span className="error">{error}</span>}
        </span>
      )}
    </span>
  );
}
