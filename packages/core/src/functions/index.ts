export {
  task,
  isTaskDefinition,
  lookupTask,
  resolveFunction,
  type AnyFunction,
  type TaskDefinition,
  type TaskRegistry,
} from './registry.js'
