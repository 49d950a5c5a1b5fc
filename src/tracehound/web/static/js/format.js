// Number, time and money formatting.

export function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return Number(value).toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function compact(value) {
  if (value === null || value === undefined) return "—";
  const v = Number(value);
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + "B";
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k";
  return num(v, Number.isInteger(v) ? 0 : 2);
}

export function pct(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return (value * 100).toFixed(digits) + "%";
}

export function duration(msValue) {
  if (msValue === null || msValue === undefined) return "—";
  const v = Number(msValue);
  if (v === 0) return "0";
  if (v < 1) return (v * 1000).toFixed(v < 0.01 ? 1 : 0) + " µs";
  if (v < 1000) return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0) + " ms";
  if (v < 60_000) return (v / 1000).toFixed(v < 10_000 ? 2 : 1) + " s";
  if (v < 3_600_000) return Math.floor(v / 60_000) + "m " + Math.round((v % 60_000) / 1000) + "s";
  return Math.floor(v / 3_600_000) + "h " + Math.round((v % 3_600_000) / 60_000) + "m";
}

export function money(value) {
  if (value === null || value === undefined) return "—";
  const v = Number(value);
  if (v === 0) return "$0";
  if (Math.abs(v) < 0.01) return "$" + v.toFixed(5);
  if (Math.abs(v) < 1) return "$" + v.toFixed(4);
  return "$" + v.toFixed(2);
}

function pad(n, w = 2) {
  return String(n).padStart(w, "0");
}

/** Local date and time with milliseconds: 2025-01-15 10:30:45.123 */
export function datetime(msValue) {
  if (msValue === null || msValue === undefined) return "—";
  const d = new Date(msValue);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

export function clock(msValue) {
  if (msValue === null || msValue === undefined) return "—";
  const d = new Date(msValue);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** An axis label for a time, precise enough for the bucket width. */
export function axisTime(msValue, widthMs) {
  const d = new Date(msValue);
  if (widthMs >= 86_400_000) return `${d.getMonth() + 1}/${d.getDate()}`;
  if (widthMs >= 60_000) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (widthMs >= 1000) return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}s`;
}

export function ago(msValue) {
  if (msValue === null || msValue === undefined) return "—";
  const s = (Date.now() - msValue) / 1000;
  if (s < 0) return "just now";
  if (s < 60) return Math.round(s) + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}

export function shortId(id) {
  if (!id) return "—";
  const s = String(id);
  return s.length > 14 ? s.slice(0, 8) + "…" + s.slice(-4) : s;
}

export function truncate(value, n = 120) {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
