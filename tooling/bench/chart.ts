/** A small SVG chart of the burst: three panels sharing a time axis, one line per design. */

export interface Series {
  name: string;
  colour: string;
  /** [seconds since the burst began, value] */
  points: [number, number][];
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
}

const W = 900;
const PANEL_H = 200;
const M = { left: 70, right: 180, top: 30, bottom: 40 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= v)!;
}

export function renderChart(title: string, panels: Panel[]): string {
  const height = M.top + panels.length * (PANEL_H + M.bottom) + 10;
  const plotW = W - M.left - M.right;
  const tMax = niceMax(
    Math.max(1, ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([t]) => t)))),
  );
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const top = M.top + i * (PANEL_H + M.bottom) + 10;
    const vMax = niceMax(Math.max(0, ...panel.series.flatMap((s) => s.points.map(([, v]) => v))));
    const x = (t: number) => M.left + (t / tMax) * plotW;
    const y = (v: number) => top + PANEL_H - (v / vMax) * PANEL_H;
    out.push(
      `<text x="${M.left}" y="${top - 6}" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = (vMax * k) / 4;
      out.push(
        `<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toFixed(1)}</text>`,
      );
    }
    for (let k = 0; k <= 5; k++) {
      const t = (tMax * k) / 5;
      out.push(
        `<text x="${x(t)}" y="${top + PANEL_H + 16}" text-anchor="middle">${+t.toFixed(1)} s</text>`,
      );
    }
    out.push(
      `<rect x="${M.left}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#888"/>`,
    );
    panel.series.forEach((s, j) => {
      if (s.points.length) {
        const d = s.points
          .map(([t, v], k) => `${k ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`)
          .join(' ');
        out.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
      }
      const ly = top + 20 + j * 18;
      out.push(
        `<line x1="${W - M.right + 15}" x2="${W - M.right + 35}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="3"/>`,
        `<text x="${W - M.right + 40}" y="${ly}">${esc(s.name)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
