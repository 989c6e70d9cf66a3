// Number formats shared by the CLI's progress, summary and result lines.

/** 0.97714 → '97.71%'. */
/** A fraction as a percentage; '—' for a missing one (an accuracy of regression targets). */
export function percent(fraction: number | null): string {
  if (fraction === null) return '—';
  return `${(fraction * 100).toFixed(2)}%`;
}

/** 0.4 → '0.40s', 12.345 → '12.3s', 125 → '2m05s'. */
export function seconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 10) return `${s.toFixed(2)}s`;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

/** 950 → '950', 52_340 → '52.3k', 1_250_000 → '1.25M' (samples per second). */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

/** A loss with four decimals ('nan'/'inf' spelled out rather than hidden). */
export function loss(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : String(value).toLowerCase();
}
