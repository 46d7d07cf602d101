/**
 * Money, energy and carbon as the CLI and the web UI show them: three
 * significant digits, in the unit that keeps the number readable, as Evalap's
 * UI does (gCO2eq below 1 kg). Per-call figures are tiny (a short answer costs
 * millionths of a dollar and milliwatt-hours), so small units go further down.
 * No imports: the web UI's bundle takes this file as it is.
 */

/** `v` with three significant digits, never in exponent notation. */
function sig3(v: number): string {
  if (v === 0) return '0';
  const digits = Math.max(0, Math.min(12, 2 - Math.floor(Math.log10(Math.abs(v)))));
  return Number(v.toFixed(digits)).toFixed(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

const missing = (v: number | null | undefined): v is null | undefined => v === null || v === undefined || !Number.isFinite(v);

/** USD: "$12.3", "$0.0042", "—" when unknown. */
export const usd = (v: number | null | undefined): string => (missing(v) ? '—' : `$${sig3(v)}`);

/** From the largest unit down: the first whose value is at least 1. */
function scaled(v: number, units: readonly (readonly [string, number])[]): string {
  const [unit, factor] = units.find(([, f]) => Math.abs(v) * f >= 1) ?? units[units.length - 1];
  return `${sig3(v * factor)} ${unit}`;
}

/** kWh in, kWh, Wh or mWh out. */
export const energy = (kWh: number | null | undefined): string =>
  missing(kWh) ? '—' : kWh === 0 ? '0 Wh' : scaled(kWh, [['kWh', 1], ['Wh', 1e3], ['mWh', 1e6]]);

/** kgCO2eq in, kgCO2eq, gCO2eq or mgCO2eq out. */
export const carbon = (kg: number | null | undefined): string =>
  missing(kg) ? '—' : kg === 0 ? '0 gCO2eq' : scaled(kg, [['kgCO2eq', 1], ['gCO2eq', 1e3], ['mgCO2eq', 1e6]]);
