export { encode, decode, EMPTY_ARGS } from './codec.js'
