import { registerBroker } from '@aque/core'
import { MemoryBroker } from './memory-broker.js'

export { MemoryBroker }

/** `memory:` is this process's default instance; `memory:<name>` a named one. */
registerBroker('memory', (url) => MemoryBroker.named(decodeURIComponent(url.pathname) || 'default'))
