/**
 * The agents layer's one error type: the model's tools cannot be made
 * available (a server that does not start, a `_tools_` name no server
 * has). The answer then fails for good with this message. A tool call that
 * fails is not an error here: it is recorded in its step, and the model sees
 * what went wrong.
 */
export class ToolSetupError extends Error {
  override name = 'ToolSetupError';
}
