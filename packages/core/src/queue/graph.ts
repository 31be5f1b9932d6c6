import type { BrokerCapabilities } from '../broker/contract.js'
import { DependencyResolutionError, ValidationError } from '../errors/classes.js'
import type { TaskPrototype } from '../task/prototype.js'
import type { DependencyRef, NewTask } from '../task/record.js'
import { Future } from './future.js'
import { type Inherited, buildSpec } from './spec-builder.js'

/**
 * Flattens prototypes and their nested dependencies into one batch in which every dependency
 * comes before its dependents (so it gets the smaller id). A prototype object reached twice (a
 * diamond) is submitted once. A cycle among the prototypes is a DependencyResolutionError.
 */
export function flattenGraph(
  roots: TaskPrototype[],
  capabilities: BrokerCapabilities,
  parent: Inherited | null,
): { batch: NewTask[]; rootIndexes: number[] } {
  const batch: NewTask[] = []
  const indexOf = new Map<TaskPrototype, number>()
  const visiting = new Set<TaskPrototype>()

  const visit = (proto: TaskPrototype, where: string): number => {
    const done = indexOf.get(proto)
    if (done !== undefined) return done
    if (visiting.has(proto)) throw new DependencyResolutionError(`${where}: dependency cycle among the submitted prototypes`)
    if (typeof proto !== 'object' || proto === null || Array.isArray(proto)) {
      throw new ValidationError(`${where}: expected a task prototype (an object)`)
    }
    visiting.add(proto)
    const deps: DependencyRef[] = []
    const given = proto.dependencies ?? []
    if (!Array.isArray(given)) throw new ValidationError(`${where}.dependencies: expected an array`)
    given.forEach((dep, i) => {
      const at = `${where}.dependencies[${i}]`
      if (typeof dep === 'number') {
        if (!Number.isSafeInteger(dep) || dep <= 0) throw new ValidationError(`${at}: ${dep} is not a task id`)
        deps.push({ id: dep })
      } else if (dep instanceof Future) {
        deps.push({ id: dep.id })
      } else {
        deps.push({ index: visit(dep as TaskPrototype, at) })
      }
    })
    const spec = buildSpec(proto, capabilities, parent, `${where}.`)
    visiting.delete(proto)
    const index = batch.length
    batch.push({ spec, dependencies: deps })
    indexOf.set(proto, index)
    return index
  }

  const rootIndexes = roots.map((proto, i) => visit(proto, roots.length === 1 ? 'prototype' : `prototypes[${i}]`))
  return { batch, rootIndexes }
}
