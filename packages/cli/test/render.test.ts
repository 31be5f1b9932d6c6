import type { TaskWithProblems } from '@aque/core'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../src/lib/errors.js'
import { compileTemplate, csvHeader, csvRow, parseFieldList, renderTable } from '../src/lib/render.js'

const shell = (id: number, args: string[], extra: Partial<TaskWithProblems> = {}): TaskWithProblems =>
  ({ id, status: 'pending', pattern: 'shell', args, name: null, user: 'ann', progress: null, startedAt: null, finishedAt: null, dependencies: [], ...extra }) as TaskWithProblems

describe('renderers', () => {
  it('CSV quotes what needs quoting', () => {
    const fields = parseFieldList('id,status,command')
    expect(csvHeader(fields)).toBe('id,status,command')
    expect(csvRow(shell(3, ['echo', 'a,b', 'say "hi"']), fields)).toBe(`3,pending,"echo a,b 'say ""hi""'"`)
    expect(() => parseFieldList('id,colour')).toThrow(UsageError)
  })

  it('templates fill fields, dotted fields, escapes and literal braces', () => {
    const t = compileTemplate('{id}\\t{status} {{x}} {progress.done}')
    expect(t(shell(4, ['true'], { progress: { done: 2, total: 5, message: null, time: 0 } }))).toBe('4\tpending {x} 2')
    expect(() => compileTemplate('{nope}')).toThrow(/unknown field/)
    expect(() => compileTemplate('{id')).toThrow(/unbalanced/)
  })

  it('the table nests with tree lines and aligns columns', () => {
    const now = Date.now()
    const rows = [
      { task: shell(10, ['make'], { name: 'all', status: 'running', startedAt: now - 65_000, progress: { done: 1, total: 4, message: 'cc', time: now } }), depth: 0, lasts: [true] },
      { task: shell(8, ['cc', 'a.c']), depth: 1, lasts: [true, false] },
      { task: shell(9, ['cc', 'b.c']), depth: 1, lasts: [true, true] },
    ]
    const lines = renderTable(rows, { showUser: true })
    expect(lines[0]).toMatch(/^ID\s+STATE\s+USER\s+PROGRESS\s+ELAPSED\s+COMMAND$/)
    expect(lines[1]).toMatch(/^10\s+running\s+ann\s+1\/4 25% cc\s+1:0[5-9]\s+all$/)
    expect(lines[2]).toMatch(/^ 8\s+pending\s+ann\s+├─ cc a\.c$/)
    expect(lines[3]).toMatch(/^ 9\s+pending\s+ann\s+└─ cc b\.c$/)
  })
})
