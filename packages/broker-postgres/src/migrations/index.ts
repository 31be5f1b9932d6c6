import { sql as m000001 } from './000001.js'

/** The migrations, in order: entry i is migration number i + 1. Append only. */
export const MIGRATIONS: readonly string[] = [m000001]
