import type { DomainEvent } from '../domain/events.js';

/** Export formats of the event admin API. */
export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The CSV columns: the envelope, then the type's own fields as one JSON cell. */
export const CSV_COLUMNS = ['event_id', 'event_type', 'timestamp', 'aggregate_id', 'user_id', 'service_name', 'correlation_id', 'payload'] as const;

const ENVELOPE = new Set(['event_id', 'event_type', 'event_version', 'timestamp', 'aggregate_id', 'metadata']);

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A cell a spreadsheet would run as a
 * formula (starting with = + - @ or a tab/CR) is prefixed with a quote mark (OWASP CSV injection advice).
 */
export function csvCell(value: string | null | undefined): string {
  let text = value ?? '';
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header line. */
export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** One event as a CSV line. */
export function csvRow(event: DomainEvent): string {
  const payload = Object.fromEntries(Object.entries(event).filter(([key]) => !ENVELOPE.has(key)));
  const cells = [
    event.event_id,
    event.event_type,
    event.timestamp,
    event.aggregate_id,
    event.metadata.user_id,
    event.metadata.service_name,
    event.metadata.correlation_id ?? null,
    JSON.stringify(payload),
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * The export's text in pieces, one per page of events: a header (CSV) or `[` (JSON) first, then each page's rows,
 * then `]` for JSON. Never more than one page is held at a time.
 */
export async function* exportChunks(format: ExportFormat, pages: AsyncIterable<DomainEvent[]>): AsyncGenerator<string> {
  if (format === 'csv') {
    yield csvHeader();
    for await (const page of pages) if (page.length) yield page.map(csvRow).join('');
    return;
  }
  yield '[';
  let first = true;
  for await (const page of pages) {
    if (!page.length) continue;
    yield (first ? '' : ',') + page.map((e) => JSON.stringify(e)).join(',');
    first = false;
  }
  yield ']\n';
}
