import { describe, expect, it } from 'vitest'
import { BrokerNotFoundError, FunctionResolutionError, ValidationError, getBroker, parseBytes, redactUrl, task } from '../src/index.js'
import { buildSpec } from '../src/queue/spec-builder.js'

const remote = { localFunctions: false, shared: true, trustedRecords: false }

describe('input boundaries', () => {
  it('parses byte sizes', () => {
    expect(parseBytes('1GB')).toBe(1e9)
    expect(parseBytes('512MB')).toBe(512e6)
    expect(parseBytes('1.5 GiB')).toBe(1.5 * 1024 ** 3)
    expect(parseBytes(100)).toBe(100)
    expect(() => parseBytes('lots')).toThrow(/memory: "lots"/)
  })

  it('names the field and the problem of a bad prototype', () => {
    const fn = task('inputs-test-fn', () => 1)
    expect(() => buildSpec({ func: fn, priority: 'high' as never }, remote, null)).toThrow(/priority/)
    expect(() => buildSpec({ func: fn, retries: -1 }, remote, null)).toThrow(/retries/)
    expect(() => buildSpec({ pattern: 'shell' }, remote, null)).toThrow(/args: the shell pattern/)
    expect(() => buildSpec({ func: fn, args: [new Map([[1, () => 2]])] }, remote, null)).toThrow(ValidationError)
  })

  it('keeps unknown fields in extra and applies the defaults', () => {
    const fn = task('inputs-test-fn2', () => 1)
    const spec = buildSpec({ func: fn, shot: 'sh010' }, remote, null)
    expect(spec.extra).toContain('sh010')
    expect(spec.priority).toBe(1000)
    expect(spec.cwd).toBe(process.cwd())
    expect(spec.pattern).toBe('generic')
  })

  it('refuses at submit a function no remote worker could find', () => {
    expect(() => buildSpec({ func: () => 1 }, remote, null)).toThrow(FunctionResolutionError)
    expect(() => buildSpec({ func: 'never-defined-task' }, remote, null)).toThrow(FunctionResolutionError)
    expect(() => buildSpec({ func: 'not a # ref' }, remote, null)).toThrow(ValidationError)
    expect(buildSpec({ func: './tasks.js#resize' }, remote, null).func).toBe('./tasks.js#resize')
  })

  it('resolves broker URLs and explains unknown schemes', async () => {
    await expect(getBroker('nope://x')).rejects.toThrow(BrokerNotFoundError)
    await expect(getBroker('nope://x')).rejects.toThrow(/@aque\/broker-nope or aque-broker-nope/)
    await expect(getBroker('not a url')).rejects.toThrow(ValidationError)
    const memory = await getBroker('memory:')
    expect(memory.toUrl()).toBe('memory:default')
    expect(redactUrl('redis://:secret@127.0.0.1:6379/0')).not.toContain('secret')
  })
})
