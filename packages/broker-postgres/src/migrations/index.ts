import { sql as m000001 } from './000001.js'
import { sql as m000002 } from './000002.js'
import { sql as m000003 } from './000003.js'
import { sql as m000004 } from './000004.js'
import { sql as m000005 } from './000005.js'
import { sql as m000006 } from './000006.js'
import { sql as m000007 } from './000007.js'
import { sql as m000008 } from './000008.js'
import { sql as m000009 } from './000009.js'
import { sql as m000010 } from './000010.js'
import { sql as m000011 } from './000011.js'
import { sql as m000012 } from './000012.js'
import { sql as m000013 } from './000013.js'

/** The migrations, in order: entry i is migration number i + 1. Append only. */
export const MIGRATIONS: readonly string[] = [m000001, m000002, m000003, m000004, m000005, m000006, m000007, m000008, m000009, m000010, m000011, m000012, m000013]
