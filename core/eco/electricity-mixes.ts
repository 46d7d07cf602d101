/**
 * Impact factors of one kWh of electricity by zone (ISO 3166-1 alpha-3, WOR
 * for the world average, EEE for Europe), the ones EcoLogits 0.6.2 ships
 * (ecologits/data/electricity_mixes.csv in github:genai-impact/ecologits,
 * from ADEME's Base Empreinte): GWP in kgCO2eq/kWh, ADPe in kgSbeq/kWh, PE in
 * MJ/kWh. Evalap pins ecologits~=0.6.2.
 */
export interface ElectricityMix {
  gwp: number;
  adpe: number;
  pe: number;
}

export const ELECTRICITY_MIXES: Readonly<Record<string, ElectricityMix>> = {
  WOR: { adpe: 0.0000000737708, pe: 9.988, gwp: 0.590478 },
  EEE: { adpe: 0.0000000642317, pe: 12.873, gwp: 0.509427 },
  FRA: { adpe: 0.0000000485798, pe: 11.289, gwp: 0.0813225 },
  USA: { adpe: 0.0000000985548, pe: 11.358, gwp: 0.67978 },
  DEU: { adpe: 0.0000000878733, pe: 16.26, gwp: 0.657374 },
  GBR: { adpe: 0.0000000370973, pe: 13.579, gwp: 0.602137 },
  IRL: { adpe: 0.0000000219257, pe: 10.706, gwp: 0.648118 },
  NLD: { adpe: 0.0000000329318, pe: 8.511, gwp: 0.544803 },
  BEL: { adpe: 0.0000000337201, pe: 10.776, gwp: 0.256537 },
  ESP: { adpe: 0.0000000518326, pe: 12.09, gwp: 0.467803 },
  ITA: { adpe: 0.00000005439, pe: 12.656, gwp: 0.621329 },
  SWE: { adpe: 0.0000000777062, pe: 11.026, gwp: 0.0464664 },
  NOR: { adpe: 0.000000127486, pe: 4.952, gwp: 0.023754 },
  FIN: { adpe: 0.0000000805114, pe: 11.275, gwp: 0.322068 },
  POL: { adpe: 0.000000101946, pe: 13.178, gwp: 1.15075 },
  CHE: { adpe: 0.000000100467, pe: 11.782, gwp: 0.0448568 },
  CAN: { adpe: 0.0000000993179, pe: 11.987, gwp: 0.238191 },
  JPN: { adpe: 0.0000000596578, pe: 10.718, gwp: 0.540891 },
  CHN: { adpe: 0.0000000851552, pe: 14.119, gwp: 1.05738 },
  IND: { adpe: 0.000000100099, pe: 20.363, gwp: 1.58299 },
  AUS: { adpe: 0.0000000790846, pe: 16.908, gwp: 1.12326 },
  BRA: { adpe: 0.00000010962, pe: 9.031, gwp: 0.278647 },
};

export const ECO_ZONES = Object.keys(ELECTRICITY_MIXES);

/** `auto`: Evalap's choice, made per model endpoint. */
export const AUTO_ZONE = 'auto';

/**
 * The zone of a model call. With `auto`, Evalap's rule: models served by
 * Albert (the French State's platform) run on the French mix, every other on
 * the world average. A configured zone applies to every call.
 */
export function zoneFor(setting: string, baseUrl: string | null | undefined): string {
  if (setting !== AUTO_ZONE) return setting;
  return (baseUrl ?? '').toLowerCase().includes('albert') ? 'FRA' : 'WOR';
}
