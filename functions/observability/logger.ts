/**
 * The Lambdas' logger: the project's `Logger` (core/logger.ts: redaction,
 * child fields) writing through one Powertools for AWS Lambda Logger, the
 * AWS convention for Lambda logs. Sharing that one instance is what lets the
 * middleware (./invocation.ts) put the invocation's request id, cold start
 * and correlation id on every line, the core's children's included.
 * Powertools samples debug logs: with probability
 * POWERTOOLS_LOGGER_SAMPLE_RATE an invocation logs at debug level whatever
 * LOG_LEVEL says.
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Config } from '../../core/config.js';
import { LEVELS, sinkLogger, type LineLevel, type Logger } from '../../core/logger.js';
import { EvalapLogFormatter } from './log-format.js';

export interface LambdaLogger {
  logger: Logger;
  powertools: PowertoolsLogger;
}

/** Reads a plain dotted path (`requestContext.requestId`): our correlation paths need no JMESPath. */
export function dottedPath(expression: string, data: unknown): unknown {
  let value = data;
  for (const key of expression.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const POWERTOOLS_LEVEL = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', silent: 'SILENT' } as const;

export function lambdaLogger(config: Pick<Config, 'LOG_LEVEL' | 'POWERTOOLS_SERVICE_NAME' | 'POWERTOOLS_LOGGER_SAMPLE_RATE'>): LambdaLogger {
  const powertools = new PowertoolsLogger({
    serviceName: config.POWERTOOLS_SERVICE_NAME,
    logLevel: POWERTOOLS_LEVEL[config.LOG_LEVEL],
    sampleRateValue: config.POWERTOOLS_LOGGER_SAMPLE_RATE,
    logFormatter: new EvalapLogFormatter(),
    correlationIdSearchFn: dottedPath,
  });
  const logger = sinkLogger({
    // The level moves with sampling, invocation by invocation: ask Powertools.
    enabled: (level: LineLevel) => LEVELS[level] >= (LEVELS[powertools.getLevelName().toLowerCase() as LineLevel] ?? 0),
    write: (level, event, fields) => powertools[level](event, fields),
  });
  return { logger, powertools };
}
