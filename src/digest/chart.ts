// The burn-down chart: an SVG drawn in code (no browser, no network) rasterised to PNG by resvg.
// Bars: workloads left on amd64 per day; line: share of CPU requests on arm64 (right axis). The x-axis
// is by calendar date: a day without data keeps its slot empty and breaks the line, so gaps show.
import { createRequire } from 'node:module';
import { sharesOf, type HistoryPoint } from './history.ts';

export interface ChartOptions {
  title: string;
  width?: number;
  height?: number;
  /** Font files to use when the host has no system fonts (e.g. a distroless image). */
  fontFiles?: string[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderBurndownSvg(points: HistoryPoint[], o: ChartOptions): string {
  const width = o.width ?? 800;
  const height = o.height ?? 360;
  const m = { top: 48, right: 56, bottom: 56, left: 56 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const remaining = points.map((p) => p.workloads.total - p.workloads.arm64);
  const maxY = niceCeil(Math.max(1, ...remaining));
  const dayNo = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);
  const first = points.length ? dayNo(points[0]!.day) : 0;
  const slotOf = points.map((p) => dayNo(p.day) - first);
  const slots = (slotOf.at(-1) ?? 0) + 1;
  const slot = w / Math.max(1, slots);
  const barW = Math.max(1, slot * 0.7);
  const x = (i: number) => m.left + slotOf[i]! * slot + (slot - barW) / 2;
  const y = (v: number) => m.top + h - (v / maxY) * h;
  const yShare = (s: number) => m.top + h - s * h;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="28" font-size="18" font-weight="bold" fill="#1d1c1d">${esc(o.title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (maxY / 4) * i;
    const yy = y(v);
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${yy}" y2="${yy}" stroke="#e8e8e8"/>`);
    parts.push(`<text x="${m.left - 8}" y="${yy + 4}" font-size="11" text-anchor="end" fill="#616061">${Math.round(v)}</text>`);
    parts.push(`<text x="${m.left + w + 8}" y="${yShare(i / 4) + 4}" font-size="11" fill="#2eb67d">${i * 25}%</text>`);
  }
  remaining.forEach((left, i) => {
    parts.push(
      `<rect x="${x(i).toFixed(1)}" y="${y(left).toFixed(1)}" width="${barW.toFixed(1)}" height="${(m.top + h - y(left)).toFixed(1)}" fill="#e8912d"/>`,
    );
  });
  const share = points.map((p, i) => `${(x(i) + barW / 2).toFixed(1)},${yShare(sharesOf(p).cpu).toFixed(1)}`);
  // One polyline per run of consecutive days: the line does not bridge a day without data.
  let run: string[] = [];
  const flush = () => {
    if (run.length > 1) parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="#2eb67d" stroke-width="2.5"/>`);
    run = [];
  };
  share.forEach((pt, i) => {
    if (i > 0 && slotOf[i]! - slotOf[i - 1]! > 1) flush();
    run.push(pt);
  });
  flush();
  for (const pt of share) {
    const [cx, cy] = pt.split(',');
    parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="#2eb67d"/>`);
  }
  // At most ~8 date labels, always the first and the last.
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    const last = points.length - 1;
    if (i !== last && (i % every !== 0 || last - i < every)) return;
    parts.push(
      `<text x="${(x(i) + barW / 2).toFixed(1)}" y="${m.top + h + 18}" font-size="11" text-anchor="middle" fill="#616061">${p.day.slice(5)}</text>`,
    );
  });
  parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" stroke="#616061"/>`);
  const legendY = height - 14;
  parts.push(`<rect x="${m.left}" y="${legendY - 10}" width="12" height="12" fill="#e8912d"/>`);
  parts.push(`<text x="${m.left + 18}" y="${legendY}" font-size="12" fill="#1d1c1d">workloads not on arm64</text>`);
  parts.push(
    `<line x1="${m.left + 200}" x2="${m.left + 224}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="#2eb67d" stroke-width="2.5"/>`,
  );
  parts.push(`<text x="${m.left + 230}" y="${legendY}" font-size="12" fill="#1d1c1d">CPU requests on arm64 (right axis)</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export function renderBurndownPng(points: HistoryPoint[], o: ChartOptions): Buffer {
  const svg = renderBurndownSvg(points, o);
  // The native renderer is loaded on first use: only the digest draws charts.
  const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const resvg = new Resvg(svg, { font: { loadSystemFonts: true, fontFiles: o.fontFiles ?? [], defaultFontFamily: 'DejaVu Sans' } });
  return resvg.render().asPng();
}

/** 1, 2, 5 × 10^n at or above `v`, so the axis reads in round numbers. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}
