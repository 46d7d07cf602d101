/**
 * The `emission_carbon` record stored with each answer and judge observation:
 * the impacts of one model call in the shape Evalap stores them (EcoLogits'
 * `Impacts.model_dump()` plus `estimated`), so Evalap's clients read it as
 * they read Evalap's: `emission_carbon.energy.value.min`, `.gwp.value.max`,
 * `usage`, `embodied`.
 */
import { ELECTRICITY_MIXES, zoneFor } from './electricity-mixes.js';
import { computeImpacts, type Range } from './impacts.js';
import { modelParams } from './model-params.js';

/** A range, or a number when EcoLogits reports one (embodied impacts when the measured latency was used). */
export type ValueOrRange = Range | number;

interface Figure {
  type: string;
  name: string;
  value: ValueOrRange;
  unit: string;
}

export interface EmissionCarbon {
  energy: Figure;
  gwp: Figure;
  adpe: Figure;
  pe: Figure;
  usage: { type: 'usage'; name: 'Usage'; energy: Figure; gwp: Figure; adpe: Figure; pe: Figure };
  embodied: { type: 'embodied'; name: 'Embodied'; gwp: Figure; adpe: Figure; pe: Figure };
  /** The model's size was guessed from its name. */
  estimated: boolean;
  /** Not in Evalap's record: what the figures were computed from. */
  zone: string;
  active_params: number;
  total_params: number;
}

export interface ModelCall {
  /** The model's name as sent to the provider. */
  model: string;
  baseUrl: string | null | undefined;
  outputTokens: number;
  latencySec: number;
}

const energy = (value: ValueOrRange): Figure => ({ type: 'energy', name: 'Energy', value, unit: 'kWh' });
const gwp = (value: ValueOrRange): Figure => ({ type: 'GWP', name: 'Global Warming Potential', value, unit: 'kgCO2eq' });
const adpe = (value: ValueOrRange): Figure => ({ type: 'ADPe', name: 'Abiotic Depletion Potential (elements)', value, unit: 'kgSbeq' });
const pe = (value: ValueOrRange): Figure => ({ type: 'PE', name: 'Primary Energy', value, unit: 'MJ' });

/**
 * The impacts of one call in zone `zoneSetting` (`auto`, or a zone of the
 * electricity-mix table). Throws RangeError on negative tokens or latency,
 * or an unknown zone.
 */
export function emissionCarbon(call: ModelCall, zoneSetting: string): EmissionCarbon {
  const zone = zoneFor(zoneSetting, call.baseUrl);
  const mix = ELECTRICITY_MIXES[zone];
  if (!mix) throw new RangeError(`no electricity mix for zone ${JSON.stringify(zone)}`);
  const params = modelParams(call.model);
  const i = computeImpacts({ activeParams: params.active_params, totalParams: params.total_params, outputTokens: call.outputTokens, latencySec: call.latencySec, mix });
  // EcoLogits reports the embodied impacts as numbers when the generation time is the measured latency.
  const embodied = (r: Range): ValueOrRange => (i.latencyCapped ? r.min : r);
  return {
    energy: energy(i.energy),
    gwp: gwp(i.gwp),
    adpe: adpe(i.adpe),
    pe: pe(i.pe),
    usage: { type: 'usage', name: 'Usage', energy: energy(i.usage.energy), gwp: gwp(i.usage.gwp), adpe: adpe(i.usage.adpe), pe: pe(i.usage.pe) },
    embodied: { type: 'embodied', name: 'Embodied', gwp: gwp(embodied(i.embodied.gwp)), adpe: adpe(embodied(i.embodied.adpe)), pe: pe(embodied(i.embodied.pe)) },
    estimated: params.estimated,
    zone,
    active_params: params.active_params,
    total_params: params.total_params,
  };
}

/** A figure as one number: the middle of its range, as Evalap reads it. */
export function midpoint(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value && typeof value === 'object') {
    const { min, max } = value as { min?: unknown; max?: unknown };
    if (typeof min === 'number' && typeof max === 'number') return (min + max) / 2;
  }
  return null;
}

/**
 * Evalap's `energy_consumption` / `gwp_consumption` score of a record: the
 * mean of the min and max of its total energy or GWP, null when the record
 * has no such range (Evalap requires a range here, not a number).
 */
export function ecoScore(record: unknown, key: 'energy' | 'gwp'): number | null {
  if (!record || typeof record !== 'object') return null;
  const value = (record as Record<string, { value?: unknown } | undefined>)[key]?.value;
  if (!value || typeof value !== 'object') return null;
  return midpoint(value);
}
