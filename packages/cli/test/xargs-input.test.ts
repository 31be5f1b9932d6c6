import { describe, expect, it } from 'vitest'
import { UsageError } from '../src/lib/errors.js'
import { commandFor, splitInput } from '../src/lib/xargs-input.js'

describe('xargs input splitting', () => {
  it('splits "1 2\\n3 4\\n" as xargs does: -n1 four, -L1 two, none one', () => {
    expect(splitInput('1 2\n3 4\n', { maxArgs: 1 })).toEqual([['1'], ['2'], ['3'], ['4']])
    expect(splitInput('1 2\n3 4\n', { maxLines: 1 })).toEqual([['1', '2'], ['3', '4']])
    expect(splitInput('1 2\n3 4\n', {})).toEqual([['1', '2', '3', '4']])
    expect(splitInput('1 2 3 4 5', { maxArgs: 2 })).toEqual([['1', '2'], ['3', '4'], ['5']])
  })

  it('honours quotes and backslashes, and continues a line that ends in a blank (-L)', () => {
    expect(splitInput(`"a b" 'c d' e\\ f\n`, {})).toEqual([['a b', 'c d', 'e f']])
    expect(splitInput("'' x", {})).toEqual([['', 'x']])
    expect(splitInput('a b \nc\n\n\nd e\n', { maxLines: 1 })).toEqual([['a', 'b', 'c'], ['d', 'e']])
    expect(() => splitInput('"open\n', {})).toThrow(UsageError)
  })

  it('supports -0, -d and -I', () => {
    expect(splitInput('a b\0c\0', { delimiter: '\0' })).toEqual([['a b', 'c']])
    expect(splitInput('a b\0c\0', { delimiter: '\0', maxArgs: 1 })).toEqual([['a b'], ['c']])
    expect(splitInput('x,y,z', { delimiter: ',', maxArgs: 2 })).toEqual([['x', 'y'], ['z']])
    const lines = splitInput('  one file.mov\ntwo\n\n', { replace: '{}' })
    expect(lines).toEqual([['one file.mov'], ['two']])
    expect(commandFor(['ffmpeg', '-i', '{}', '{}.mp4'], lines[0] as string[], '{}')).toEqual(['ffmpeg', '-i', 'one file.mov', 'one file.mov.mp4'])
    expect(commandFor(['echo', 'x'], ['1', '2'])).toEqual(['echo', 'x', '1', '2'])
  })

  it('makes nothing of empty input and refuses mixed modes', () => {
    expect(splitInput('', {})).toEqual([])
    expect(splitInput(' \n\n', { maxArgs: 1 })).toEqual([])
    expect(() => splitInput('a', { maxArgs: 1, maxLines: 1 })).toThrow(/only one of/)
  })
})
