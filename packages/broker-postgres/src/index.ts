import { registerBroker } from '@aque/core'
import { PostgresBroker } from './postgres-broker.js'

export { PostgresBroker }
export { parsePostgresUrl, formatPostgresUrl, type PostgresOptions, type SslMode, SSL_MODES } from './url.js'
export { SchemaTooNewError } from './migrate.js'

registerBroker('postgres', (url) => new PostgresBroker(url))
registerBroker('postgresql', (url) => new PostgresBroker(url))
