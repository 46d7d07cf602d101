/** Param schemas several metrics share. */
import { z } from 'zod';

/** A metric that takes no params: any key given is an error. */
export const noParams = z.object({}).strict();

/** An optional on/off param. */
export const flag = z.boolean().optional();
