/** @aque/cli: the `aque` command line, usable as a library (`run(argv)`). */
export { buildProgram, run, VERSION } from './program.js'
export { compileFilter, parseFilter, evaluate, tokenize, type Node as FilterNode } from './lib/filter.js'
export { splitInput, splitItems, commandFor, type SplitOptions } from './lib/xargs-input.js'
export { CliError, UsageError, describeError, EXIT_USAGE, EXIT_FAILURE } from './lib/errors.js'
