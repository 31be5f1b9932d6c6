export { AqueError } from './aque-error.js'
export * from './classes.js'
export { registerErrorClass, errorClassFor, reviveError } from './registry.js'
