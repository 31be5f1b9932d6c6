// The README's example is examples/readme.ts: this test keeps the two equal and runs it.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { main } from '../../../examples/readme.js'

it('the README example is examples/readme.ts, and it runs', async () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
  const example = readFileSync(new URL('../../../examples/readme.ts', import.meta.url), 'utf8')
  expect(readme).toContain(example.trim())
  expect(await main()).toBe(30)
})
